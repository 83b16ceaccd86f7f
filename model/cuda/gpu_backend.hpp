// The GPU towers as a decoding backend (model/batch_decode.hpp): context tower
// on one device, denoiser tower on the same or another one. Context caches
// live on the context device; with two devices each sequence has a mirror on
// the denoiser's device that receives only the K/V rows added since its last
// block plus the Mamba state (peer copies), as the cluster's cache transports do.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "model/batch_decode.hpp"
#include "model/cuda/gpu_cache.hpp"
#include "model/cuda/gpu_tower.hpp"
#include "model/cuda/gpu_weights.hpp"
#include "model/safetensors.hpp"
#include "model/weights.hpp"

namespace tt::gpu {

struct Placement {
  int context_device = 0;
  int denoiser_device = 0;
  bool denoiser = true;  // false: AR only (one GPU, no denoiser weights)
  // Mirror the caches to the denoiser even on one device (exercises the delta
  // transfer of a two-GPU placement where only one GPU exists; tests).
  bool mirror = false;
};

// Parses "N" (both towers on N) or "N,M" (context on N, denoiser on M); throws tt::Error.
Placement parse_devices(const std::string& spec);
// The memory plan of model/memory_plan for this device's capacity, as one line
// printed at start: weights and cache per sequence as planned, and how many
// sequences of 4,096 tokens fit beside the weights. role: "context",
// "denoiser", "context+denoiser" or "ar".
std::string memory_plan_line(const ModelConfig& config, int device, const std::string& role);

class Backend : public tt::DecodeBackend {
public:
  Backend(const ModelConfig& config, const Checkpoint& checkpoint, const Placement& placement);
  ~Backend() override;

  int new_cache() override;
  void free_cache(int cache) override;
  void extend(std::span<const Extend> items, std::vector<int32_t>& picked) override;
  void denoise(std::span<const Denoise> items, std::vector<int32_t>& pred, std::vector<float>& conf) override;

  // Device bytes of weights per tower and of the caches now held.
  size_t context_weight_bytes() const { return context_->weight_bytes(); }
  size_t denoiser_weight_bytes() const { return denoiser_ ? denoiser_->weight_bytes() : 0; }
  size_t cache_bytes() const;
  std::string describe() const;  // one line: devices, names, weight bytes

private:
  SequenceCache& cache(int handle);  // throws tt::Error for a freed handle
  const SequenceCache& seed_for(int handle);

  const ModelConfig& config_;
  Placement placement_;
  std::unique_ptr<DeviceTower> context_, denoiser_;  // denoiser_: null in an AR-only placement
  // Declared after the towers, so freed before them.
  std::vector<std::unique_ptr<SequenceCache>> caches_;   // on the context device; index = handle
  std::vector<std::unique_ptr<SequenceCache>> mirrors_;  // on the denoiser device (two devices only)
};

}  // namespace tt::gpu
