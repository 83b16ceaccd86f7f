// One NemotronH tower (context or denoiser) over a batch of sequences: the
// rows of every item are concatenated so that the linear layers run as one
// GEMM, while attention, conv and scan run per sequence.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "model/cache.hpp"
#include "model/config.hpp"
#include "model/weights.hpp"

namespace tt {

// One sequence's contribution to a tower forward.
struct TowerItem {
  std::span<const int32_t> tokens;
  // Context tower: the cache this forward extends in place (K/V appended,
  // Mamba state advanced, length += tokens.size()).
  SequenceCache* cache = nullptr;
  // Denoiser: the read-only context state it is seeded from (cache == null).
  const CacheView* seed = nullptr;
  // Denoiser time conditioning: [layers][3][H] (shift, scale, gate) or null.
  const float* modulation = nullptr;
  // Attention among the new tokens: causal (context, mock-AR) or not (diffusion block).
  bool causal = true;
};

// Receives named intermediates ("embed", "layer.<i>", "final_norm") for tests.
using DumpFn = std::function<void(const std::string& name, const float* data, int rows, int cols)>;

class Tower {
public:
  Tower(const ModelConfig& config, const TowerWeights& weights);

  // Writes the final-normed hidden states of all rows, [total rows, H].
  void forward(std::span<const TowerItem> items, std::vector<float>& hidden,
               const DumpFn& dump = nullptr);

  // logits[r, :] = head(hidden[rows[r], :]) -> [rows.size(), vocab].
  void logits(const std::vector<float>& hidden, std::span<const int> rows, std::vector<float>& out);

  const ModelConfig& config() const { return config_; }

private:
  void mamba_layer(const LayerWeights& w, int slot, std::span<const TowerItem> items,
                   const float* u, float* out);
  void attention_layer(const LayerWeights& w, int slot, std::span<const TowerItem> items,
                       const float* u, float* out);
  void moe_layer(const MoeWeights& w, const float* u, int rows, float* out);
  void mlp(const MlpWeights& w, const float* u, int rows, float* out);

  const ModelConfig& config_;
  const TowerWeights& weights_;
  LayerSlots slots_;
  // Workspaces, reused across calls (a Tower is used by one thread at a time).
  std::vector<float> h_, u_, m_, proj_, a_, b_, c_, d_, e_, f_;
  std::vector<float> gathered_, expert_out_, routed_;
  std::vector<int> experts_;
  std::vector<float> expert_w_;
};

}  // namespace tt
