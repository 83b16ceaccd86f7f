// The NemotronH block loop: embedding, per-layer (modulate/)norm -> mixer ->
// (gate ->) residual add, final norm, and the LM head.
#include "model/tower.hpp"

#include <algorithm>

#include "kernels/cpu/gemm.hpp"
#include "kernels/cpu/norm.hpp"
#include "kernels/cpu/time_embedding.hpp"
#include "model/error.hpp"

namespace tt {

Tower::Tower(const ModelConfig& config, const TowerWeights& weights)
    : config_(config), weights_(weights), slots_(config) {}

void Tower::forward(std::span<const TowerItem> items, std::vector<float>& hidden, const DumpFn& dump) {
  const int H = config_.hidden_size;
  const float eps = config_.layer_norm_epsilon;
  int rows = 0;
  for (const auto& it : items) {
    if ((it.cache == nullptr) == (it.seed == nullptr))
      throw Error("tower forward: each item needs exactly one of cache or seed");
    rows += static_cast<int>(it.tokens.size());
  }
  h_.resize(static_cast<size_t>(rows) * H);
  u_.resize(h_.size());
  m_.resize(h_.size());
  {
    int r = 0;
    for (const auto& it : items)
      for (int32_t tok : it.tokens) weights_.embed.lookup(tok, &h_[static_cast<size_t>(r++) * H]);
  }
  if (dump) dump("embed", h_.data(), rows, H);

  for (size_t i = 0; i < weights_.layers.size(); ++i) {
    const LayerWeights& lw = weights_.layers[i];
    const bool modulate_first = lw.kind == LayerKind::mamba || lw.kind == LayerKind::attention;
    // u = norm(h), with per-item adaLN modulation before (M, *) or after (E, -) the norm.
    int r0 = 0;
    for (const auto& it : items) {
      const int n = static_cast<int>(it.tokens.size());
      float* h = &h_[static_cast<size_t>(r0) * H];
      float* u = &u_[static_cast<size_t>(r0) * H];
      if (it.modulation == nullptr) {
        cpu::rms_norm(h, lw.norm.data(), u, n, H, eps);
      } else {
        const float* mod = it.modulation + i * 3 * static_cast<size_t>(H);
        if (modulate_first) {
          cpu::modulate(h, mod, mod + H, u, n, H);
          cpu::rms_norm(u, lw.norm.data(), u, n, H, eps);
        } else {
          cpu::rms_norm(h, lw.norm.data(), u, n, H, eps);
          cpu::modulate(u, mod, mod + H, u, n, H);
        }
      }
      r0 += n;
    }
    switch (lw.kind) {
      case LayerKind::mamba: mamba_layer(lw, slots_.slot[i], items, u_.data(), m_.data()); break;
      case LayerKind::attention: attention_layer(lw, slots_.slot[i], items, u_.data(), m_.data()); break;
      case LayerKind::moe: moe_layer(lw.moe, u_.data(), rows, m_.data()); break;
      case LayerKind::mlp: mlp(lw.mlp, u_.data(), rows, m_.data()); break;
    }
    // h += (gate ·) mixer(u)
    r0 = 0;
    for (const auto& it : items) {
      const int n = static_cast<int>(it.tokens.size());
      const float* gate = it.modulation ? it.modulation + (i * 3 + 2) * static_cast<size_t>(H) : nullptr;
      for (int r = r0; r < r0 + n; ++r) {
        float* h = &h_[static_cast<size_t>(r) * H];
        const float* m = &m_[static_cast<size_t>(r) * H];
        if (gate) {
          for (int j = 0; j < H; ++j) h[j] += gate[j] * m[j];
        } else {
          for (int j = 0; j < H; ++j) h[j] += m[j];
        }
      }
      r0 += n;
    }
    if (dump) dump("layer." + std::to_string(i), h_.data(), rows, H);
  }
  for (const auto& it : items) {
    if (it.cache) it.cache->set_length(it.cache->length() + static_cast<int>(it.tokens.size()));
  }
  hidden.resize(h_.size());
  cpu::rms_norm(h_.data(), weights_.norm_f.data(), hidden.data(), rows, H, eps);
  if (dump) dump("final_norm", hidden.data(), rows, H);
}

void Tower::logits(const std::vector<float>& hidden, std::span<const int> rows, std::vector<float>& out) {
  const int H = config_.hidden_size;
  const int V = weights_.head.out();
  gathered_.resize(rows.size() * static_cast<size_t>(H));
  for (size_t r = 0; r < rows.size(); ++r)
    std::copy_n(&hidden[static_cast<size_t>(rows[r]) * H], H, &gathered_[r * H]);
  out.resize(rows.size() * static_cast<size_t>(V));
  cpu::gemm(gathered_.data(), static_cast<int>(rows.size()), H, weights_.head.w, out.data(), V);
}

}  // namespace tt
