// The denoiser's time conditioning: t -> t_emb (3H) -> per-layer
// (shift, scale, gate) = t_emb + scale_shift_tables[i].
#pragma once

#include <map>
#include <vector>

#include "model/config.hpp"
#include "model/weights.hpp"

namespace tt {

// t_emb = t_block(SiLU(mlp.2(SiLU(mlp.0(sinusoid(1000 t)))))) -> [3H].
std::vector<float> time_embedding(const TimeWeights& w, int hidden, float t);

// Per-layer modulation [layers][3][H] for masked fraction t, memoised by t
// (a block of S tokens only ever sees S + 1 values).
class ModulationCache {
public:
  ModulationCache(const ModelConfig& config, const TimeWeights& weights)
      : config_(config), weights_(weights) {}
  const std::vector<float>& get(float t);

private:
  const ModelConfig& config_;
  const TimeWeights& weights_;
  std::map<float, std::vector<float>> memo_;
};

}  // namespace tt
