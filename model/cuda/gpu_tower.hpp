// One NemotronH tower on a CUDA device: the loop of model/tower.cpp over the
// kernels of kernels/cuda. Rows of all items run as one GEMM per linear layer;
// conv, scan and attention run per item from its device cache (context) or a
// scratch copy of its seed (denoiser). Hidden states and logits stay on the
// device; pick() returns only (token, confidence) per row.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "kernels/cuda/device.hpp"
#include "kernels/cuda/gemm.hpp"
#include "model/cache.hpp"
#include "model/config.hpp"
#include "model/cuda/gpu_cache.hpp"
#include "model/cuda/gpu_weights.hpp"
#include "model/safetensors.hpp"
#include "model/time_conditioning.hpp"
#include "model/weights.hpp"

namespace tt::gpu {

struct TowerItem {
  std::span<const int32_t> tokens;       // host ids, checked against the vocabulary
  SequenceCache* cache = nullptr;        // context: extended in place
  const CacheView* seed = nullptr;       // denoiser: read-only seed (cache == null)
  const float* modulation = nullptr;     // device [layers][3][H] or null
  bool causal = true;
};

// Runs on the device that was current when it was made (its cuBLAS handle is bound
// to it): callers make that device current (cuda::DeviceScope) around every call.
class Tower {
public:
  Tower(const ModelConfig& config, const TowerWeights& weights, cudaStream_t stream = nullptr);

  // Runs the items; the final-normed hidden states of all rows ([rows, H]) stay
  // on the device until the next call (hidden()). Seeds must be device views
  // (CacheView::device >= 0), else tt::Error.
  void forward(std::span<const TowerItem> items);
  const float* hidden() const { return hidden_.get(); }
  int rows() const { return rows_; }

  // Logits of the given rows of the last forward, copied to the host ([n, vocab]; tests).
  std::vector<float> logits(std::span<const int> rows);
  std::vector<float> hidden_host() const;

  // Token choice for the given rows on the device (kernels/cuda/sampling.hpp):
  // greedy when temperature <= 0, else Gumbel-max with per-row RNG streams.
  // Throws tt::Error "the model produced non-finite logits" as the CPU does.
  void pick(std::span<const int> rows, int32_t mask_id, float temperature, uint64_t seed,
            std::span<const uint64_t> streams, std::vector<int32_t>& tokens, std::vector<float>& confidence);

  cudaStream_t stream() const { return stream_; }
  const ModelConfig& config() const { return config_; }

private:
  void norm_rows(const LayerWeights& lw, int layer, std::span<const TowerItem> items);
  void mamba_layer(const MambaWeights& w, int slot, std::span<const TowerItem> items);
  void attention_layer(const AttentionWeights& w, int slot, std::span<const TowerItem> items);
  void moe_layer(const MoeWeights& w);
  void mlp(const MlpWeights& w, const float* u, int rows, float* out, bool accumulate);
  void head_rows(std::span<const int> rows);

  const ModelConfig& config_;
  const TowerWeights& weights_;
  cudaStream_t stream_;
  cuda::Blas blas_;
  LayerSlots slots_;
  int rows_ = 0;
  // Workspaces (grow only).
  cuda::DeviceBuffer<int32_t> ids_, experts_, picked_;
  cuda::DeviceBuffer<float> h_, u_, m_, hidden_, proj_, a_, b_, c_, d_, e_, f_, seed_conv_, seed_ssm_;
  cuda::DeviceBuffer<float> route_w_, logits_, gathered_, conf_;
  cuda::DeviceBuffer<uint64_t> streams_;
};

// AR choices from the raw logits (no mask id) of rows of the last forward, one
// Tower::pick call per sampling setting; returns one token per entry, in order.
struct RowPick {
  int row = 0;
  float temperature = 0;
  uint64_t seed = 0;
  uint64_t stream = 0;
};
std::vector<int32_t> pick_rows(Tower& tower, std::span<const RowPick> picks);

// Per-layer time modulation on the device, memoised by t (a block only sees S + 1 values).
class Modulation {
public:
  Modulation(const ModelConfig& config, const TimeWeights& weights) : host_(config, weights) {}
  const float* get(float t);

private:
  ModulationCache host_;
  std::map<float, cuda::DeviceBuffer<float>> memo_;
};

// Throws tt::Error "--device: device N does not exist (K CUDA device(s) visible)".
void check_device(int device);

// A tower resident on one device: its stream, its weights uploaded from the
// checkpoint, the block loop and, for the denoiser, the time modulation.
// Throws tt::Error when the device does not exist or the checkpoint is bad.
class DeviceTower {
public:
  enum class Kind { context, denoiser };
  DeviceTower(const ModelConfig& config, const Checkpoint& checkpoint, int device, Kind kind);
  ~DeviceTower();
  DeviceTower(const DeviceTower&) = delete;
  DeviceTower& operator=(const DeviceTower&) = delete;

  int device() const { return device_; }
  cudaStream_t stream() const { return stream_; }
  Tower& tower() { return *tower_; }
  Modulation& modulation() { return *modulation_; }  // denoiser only
  size_t weight_bytes() const { return weights_.bytes; }

private:
  int device_;
  cudaStream_t stream_ = nullptr;
  TowerWeights weights_;
  TimeWeights time_;  // host copy the modulation is computed from
  std::unique_ptr<Tower> tower_;
  std::unique_ptr<Modulation> modulation_;
};

}  // namespace tt::gpu
