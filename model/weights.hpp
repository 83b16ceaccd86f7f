// Tower weights loaded from a checkpoint by the released tensor names
// (context_tower.*, context_lm_head, denoiser_tower.*, lm_head, t_embedder,
// t_block, scale_shift_tables.N), shape-checked against config.json.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kernels/cpu/gemm.hpp"
#include "model/config.hpp"
#include "model/safetensors.hpp"

namespace tt {

struct Linear {
  cpu::PackedWeight w;
  std::vector<float> bias;  // empty when the layer has none
  int in() const { return w.k; }
  int out() const { return w.n; }
};

// Embedding rows stay in the checkpoint's mapping (bf16/f16/f32); a lookup widens one row.
struct Embedding {
  const TensorView* table = nullptr;
  int rows = 0;
  int dim = 0;
  void lookup(int token, float* out) const;
};

struct MambaWeights {
  Linear in_proj, out_proj;
  std::vector<float> conv_w;  // [conv_dim, K]
  std::vector<float> conv_b;  // [conv_dim] (zeros when use_conv_bias is false)
  std::vector<float> dt_bias, A_log, D;  // [heads]
  std::vector<float> norm_w;  // [d_inner]
};

struct AttentionWeights {
  Linear q, k, v, o;
};

struct MlpWeights {
  Linear up, down;  // down(relu(up(x))^2)
};

struct MoeWeights {
  std::vector<float> gate_w;  // [experts, H], fp32 (router runs in fp64)
  std::vector<float> gate_bias;  // e_score_correction_bias [experts]
  std::vector<MlpWeights> experts;
  std::optional<MlpWeights> shared;
};

struct LayerWeights {
  LayerKind kind = LayerKind::mamba;
  std::vector<float> norm;  // pre-mixer RMSNorm [H]
  MambaWeights mamba;       // kind == mamba
  AttentionWeights attn;    // kind == attention
  MlpWeights mlp;           // kind == mlp
  MoeWeights moe;           // kind == moe
};

struct TowerWeights {
  Embedding embed;
  std::vector<LayerWeights> layers;
  std::vector<float> norm_f;
  Linear head;  // context_lm_head or lm_head
};

struct TimeWeights {
  Linear mlp0;   // t_embedder.mlp.0: 256 -> H
  Linear mlp2;   // t_embedder.mlp.2: H -> H
  Linear block;  // t_block.1: H -> 3H
  std::vector<std::vector<float>> tables;  // scale_shift_tables.i: [3, H]
  int frequency_dim = 256;
};

struct LoadOptions {
  bool context = true;
  bool denoiser = true;
};

struct ModelWeights {
  std::shared_ptr<const Checkpoint> checkpoint;  // keeps embeddings mapped
  std::optional<TowerWeights> context;
  std::optional<TowerWeights> denoiser;
  std::optional<TimeWeights> time;
  size_t packed_bytes = 0;  // weight bytes held in packed form
};

// Only the denoiser's time conditioning (t_embedder, t_block, scale_shift_tables), e.g. for a
// GPU denoiser that computes the modulation on the host.
TimeWeights load_time_weights(const ModelConfig& config, const Checkpoint& checkpoint);

ModelWeights load_weights(const ModelConfig& config, std::shared_ptr<const Checkpoint> checkpoint,
                          const LoadOptions& options = {});

}  // namespace tt
