// One tower's weights on a CUDA device, read straight from the safetensors
// mapping by the released names and shape-checked against config.json:
// linear layers bf16 in nn.Linear layout (a BF16 checkpoint's bytes are copied
// as stored; F32/F16 are rounded to bf16 once), routed experts stacked per
// layer for the grouped GEMM, small vectors (norms, conv, A_log, router) fp32.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "kernels/cuda/device.hpp"
#include "kernels/cuda/gemm.hpp"
#include "kernels/cuda/moe.hpp"
#include "model/config.hpp"
#include "model/safetensors.hpp"

namespace tt::gpu {

struct MlpWeights {
  cuda::DeviceWeight up, down;  // down(relu(up(x))^2)
};

struct MambaWeights {
  cuda::DeviceWeight in_proj, out_proj;
  const float* conv_w = nullptr;  // [conv_dim, K]
  const float* conv_b = nullptr;  // [conv_dim] (zeros without conv bias)
  const float* dt_bias = nullptr;
  const float* A_log = nullptr;
  const float* D = nullptr;
  const float* norm_w = nullptr;  // [d_inner]
};

struct AttentionWeights {
  cuda::DeviceWeight q, k, v, o;
};

struct MoeWeights {
  const float* gate_w = nullptr;     // [experts, H] fp32 (the router runs in fp64)
  const float* gate_bias = nullptr;  // [experts]
  cuda::ExpertWeights experts;       // stacked bf16
  std::optional<MlpWeights> shared;
};

struct LayerWeights {
  LayerKind kind = LayerKind::mamba;
  const float* norm = nullptr;  // [H]
  MambaWeights mamba;
  AttentionWeights attn;
  MlpWeights mlp;
  MoeWeights moe;
};

struct TowerWeights {
  const void* embed = nullptr;  // [vocab, H], bf16 when embed_bf16, else fp32
  bool embed_bf16 = true;
  int vocab = 0;
  int hidden = 0;
  std::vector<LayerWeights> layers;
  const float* norm_f = nullptr;
  cuda::DeviceWeight head;  // [vocab, H]
  size_t bytes = 0;         // device bytes held
  std::vector<cuda::DeviceBuffer<uint8_t>> storage;  // owns everything above
};

// Uploads tower `prefix` ("context_tower" / "denoiser_tower") with LM head `head`
// ("context_lm_head" / "lm_head") to the current device. Throws tt::Error naming
// the tensor and file on a missing tensor, wrong shape or non-floating dtype.
TowerWeights upload_tower(const ModelConfig& config, const Checkpoint& checkpoint, const std::string& prefix,
                          const std::string& head);

}  // namespace tt::gpu
