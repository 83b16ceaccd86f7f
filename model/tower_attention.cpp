// Attention mixer over a batch: q/k/v/o projections as one GEMM each;
// attention per sequence over [cached K/V ; new K/V].
#include <algorithm>

#include "kernels/cpu/attention.hpp"
#include "kernels/cpu/gemm.hpp"
#include "model/tower.hpp"

namespace tt {

void Tower::attention_layer(const LayerWeights& w, int slot, std::span<const TowerItem> items,
                            const float* u, float* out) {
  const ModelConfig& c = config_;
  const AttentionWeights& aw = w.attn;
  const int H = c.hidden_size;
  const int qd = c.num_attention_heads * c.head_dim;
  const int kvd = c.num_key_value_heads * c.head_dim;
  const cpu::AttentionShape shape{c.num_attention_heads, c.num_key_value_heads, c.head_dim};
  int rows = 0;
  for (const auto& it : items) rows += static_cast<int>(it.tokens.size());

  a_.resize(static_cast<size_t>(rows) * qd);   // q
  b_.resize(static_cast<size_t>(rows) * kvd);  // k
  c_.resize(static_cast<size_t>(rows) * kvd);  // v
  d_.resize(static_cast<size_t>(rows) * qd);   // attention output
  cpu::gemm(u, rows, H, aw.q.w, a_.data(), qd);
  cpu::gemm(u, rows, H, aw.k.w, b_.data(), kvd);
  cpu::gemm(u, rows, H, aw.v.w, c_.data(), kvd);

  int r0 = 0;
  for (const auto& it : items) {
    const int n = static_cast<int>(it.tokens.size());
    const float* q = &a_[static_cast<size_t>(r0) * qd];
    const float* k = &b_[static_cast<size_t>(r0) * kvd];
    const float* v = &c_[static_cast<size_t>(r0) * kvd];
    float* o = &d_[static_cast<size_t>(r0) * qd];
    if (it.cache) {
      KvCache& kv = it.cache->kv(slot);
      const int n_ctx = it.cache->length();
      cpu::attention(q, n, kv.k.data(), kv.v.data(), n_ctx, k, v, true, shape, o);
      kv.k.insert(kv.k.end(), k, k + static_cast<size_t>(n) * kvd);
      kv.v.insert(kv.v.end(), v, v + static_cast<size_t>(n) * kvd);
    } else {
      cpu::attention(q, n, it.seed->k[slot], it.seed->v[slot], it.seed->length, k, v, it.causal, shape, o);
    }
    r0 += n;
  }
  cpu::gemm(d_.data(), rows, qd, aw.o.w, out, H);
}

}  // namespace tt
