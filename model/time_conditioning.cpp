// Time conditioning of the denoiser (adaLN-single).
#include "model/time_conditioning.hpp"

#include <cmath>

#include "kernels/cpu/gemm.hpp"
#include "kernels/cpu/time_embedding.hpp"

namespace tt {
namespace {

void silu(std::vector<float>& x) {
  for (float& v : x) v = v / (1.0f + std::exp(-v));
}

std::vector<float> linear_forward(const Linear& l, const std::vector<float>& x) {
  std::vector<float> y(l.out());
  cpu::gemm(x.data(), 1, l.in(), l.w, y.data(), l.out());
  for (int i = 0; i < l.out(); ++i) y[i] += l.bias.empty() ? 0.0f : l.bias[i];
  return y;
}

}  // namespace

std::vector<float> time_embedding(const TimeWeights& w, int hidden, float t) {
  (void)hidden;
  std::vector<float> freq(w.frequency_dim);
  cpu::timestep_sinusoid(1000.0f * t, w.frequency_dim, freq.data());
  std::vector<float> e = linear_forward(w.mlp0, freq);
  silu(e);
  e = linear_forward(w.mlp2, e);
  silu(e);
  return linear_forward(w.block, e);
}

const std::vector<float>& ModulationCache::get(float t) {
  auto it = memo_.find(t);
  if (it != memo_.end()) return it->second;
  const int H = config_.hidden_size;
  const std::vector<float> t_emb = time_embedding(weights_, H, t);
  std::vector<float> mod(static_cast<size_t>(config_.num_hidden_layers) * 3 * H);
  for (int i = 0; i < config_.num_hidden_layers; ++i)
    for (int j = 0; j < 3 * H; ++j) mod[static_cast<size_t>(i) * 3 * H + j] = t_emb[j] + weights_.tables[i][j];
  return memo_.emplace(t, std::move(mod)).first->second;
}

}  // namespace tt
