// Batched AR and diffusion decoding over an abstract compute backend: the
// sequence loop (prefill, AR tokens, diffusion blocks refined step by step
// with the commit rule, EOS and length limits) written once, run by the CPU
// towers (CpuDecodeBackend, checked against tt::Engine) and by the GPU towers
// (model/cuda/gpu_backend.hpp, checked against the CPU backend). The backend
// only does forwards and token choice; only (token, confidence) pairs come back.
// Mock-AR stays with the actor engine (tt::Engine).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "model/context_compute.hpp"
#include "model/denoiser_compute.hpp"
#include "model/engine_types.hpp"
#include "model/weights.hpp"

namespace tt {

class DecodeBackend {
public:
  virtual ~DecodeBackend() = default;

  // A fresh context cache; handles are small integers owned by the backend.
  virtual int new_cache() = 0;
  virtual void free_cache(int cache) = 0;

  // One batched causal context forward; items with `pick` choose the next token
  // from their last row (raw logits: argmax, or Gumbel-max with (seed, stream)).
  struct Extend {
    int cache = 0;
    std::span<const int32_t> tokens;
    bool pick = false;
    float temperature = 0;
    uint64_t seed = 0;
    uint64_t stream = 0;
  };
  // picked: one token per item with pick, in item order.
  virtual void extend(std::span<const Extend> items, std::vector<int32_t>& picked) = 0;

  // One batched denoiser forward over blocks seeded from their caches; for every
  // position the (token, confidence) pair with the mask id excluded (Gumbel streams
  // diffusion_stream(block index, step, position) when the temperature is > 0).
  struct Denoise {
    int cache = 0;
    const BlockState* block = nullptr;
    const DiffusionParams* params = nullptr;
  };
  // pred / conf: the items' positions concatenated (entries at committed positions unspecified).
  virtual void denoise(std::span<const Denoise> items, std::vector<int32_t>& pred, std::vector<float>& conf) = 0;
};

// Runs the requests to completion (validated first; throws tt::Error naming the
// parameter). Results equal tt::Engine's for AR and diffusion.
std::vector<GenerateResult> decode_batch(DecodeBackend& backend, const ModelConfig& config,
                                         std::span<const GenerateRequest> requests);

// The CPU towers as a backend (the reference for the GPU one): host caches,
// ContextCompute and DenoiserCompute, as the actors' cores use them.
class CpuDecodeBackend : public DecodeBackend {
public:
  // The weights' towers (context; denoiser and time conditioning when loaded).
  CpuDecodeBackend(const ModelConfig& config, const ModelWeights& weights);
  ~CpuDecodeBackend() override;

  int new_cache() override;
  void free_cache(int cache) override;
  void extend(std::span<const Extend> items, std::vector<int32_t>& picked) override;
  void denoise(std::span<const Denoise> items, std::vector<int32_t>& pred, std::vector<float>& conf) override;

private:
  const ModelConfig& config_;
  std::unique_ptr<ContextCompute> context_;
  std::unique_ptr<DenoiserCompute> denoiser_;
  std::vector<std::unique_ptr<SequenceCache>> caches_;  // index = handle; null when free
};

}  // namespace tt
