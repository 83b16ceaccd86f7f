// Grouped-query attention over [ctx ; new] keys, fp32, one (query, kv head)
// per work item with all query heads of the kv group handled together.
//
// Batch invariance: query i's output depends only on its visible key
// sequence. Each score is one FMA chain over head_dim (d = 0, 1, ...), and
// the softmax sum and the value accumulation each run over keys in position
// order, so n_q, the ctx/new split and the thread count never change a bit.
//
// The inner blocks use GCC vector extensions: GCC 12 does not keep these
// register tiles in registers when written as plain loops (it spills every
// step). Lane l of a vector is exactly the scalar loop for that lane.
#include "kernels/cpu/attention.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/cpu/thread_pool.hpp"

namespace tt::cpu {
namespace {

template <int N>
struct VecOf {
  typedef float type __attribute__((vector_size(N * sizeof(float))));
};
template <int N>
using vf = typename VecOf<N>::type;

template <int N>
vf<N> load(const float* p) {
  vf<N> v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <int N>
void store(float* p, vf<N> v) {
  std::memcpy(p, &v, sizeof v);
}

// exp(x) for x <= 0 (scores minus their max), vectorisable: 2^n · e^r with
// |r| <= ln2/2, Taylor to degree 7 (truncation < 6e-9 relative), ~1.5 ulp.
// Below -87 the result is flushed to 0 (exp(-87) ~ 1.6e-38 is below any
// softmax sum's ulp).
inline float exp_nonpos(float x) {
  const float xc = x < -87.0f ? -87.0f : x;
  const float n = std::nearbyint(xc * 1.44269504088896341f);  // log2(e)
  float r = xc - n * 0.693359375f;                            // ln2, high part (exact)
  r = r - n * -2.12194440e-4f;                                // ln2, low part
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const float two_n = std::bit_cast<float>(static_cast<int32_t>(n + 127.0f) << 23);
  return x < -87.0f ? 0.0f : p * two_n;
}

// Keys 0..n_ctx-1 come from ctx, the rest from new; rows of `stride` floats.
struct KeyView {
  const float* k_ctx;
  const float* v_ctx;
  const float* k_new;
  const float* v_new;
  int n_ctx;
  int64_t stride;  // n_kv_heads * head_dim
  int64_t offset;  // kv head * head_dim

  const float* k(int j) const {
    return j < n_ctx ? k_ctx + j * stride + offset : k_new + (j - n_ctx) * stride + offset;
  }
  const float* v(int j) const {
    return j < n_ctx ? v_ctx + j * stride + offset : v_new + (j - n_ctx) * stride + offset;
  }
};

constexpr int kKeyBlock = 8;

// s[j * G + h] = scale * sum_d q_h[d] k_j[d] for NH heads and NK keys, with
// qt = the group's queries transposed to [D, G], offset to the first head.
template <int NH, int NK>
void score_block(const float* qt, int G, int D, const KeyView& kv, int j0, float scale, float* s) {
  const float* k[NK];
  for (int j = 0; j < NK; ++j) k[j] = kv.k(j0 + j);
  vf<NH> acc[NK] = {};
  for (int d = 0; d < D; ++d) {
    const vf<NH> q = load<NH>(qt + static_cast<int64_t>(d) * G);
    for (int j = 0; j < NK; ++j) acc[j] += k[j][d] * q;
  }
  for (int j = 0; j < NK; ++j) store<NH>(s + static_cast<int64_t>(j0 + j) * G, acc[j] * scale);
}

template <int NH>
void score_heads(const float* qt, int G, int D, const KeyView& kv, int n_keys, float scale,
                 float* s) {
  int j = 0;
  for (; j + kKeyBlock <= n_keys; j += kKeyBlock)
    score_block<NH, kKeyBlock>(qt, G, D, kv, j, scale, s);
  for (; j < n_keys; ++j) score_block<NH, 1>(qt, G, D, kv, j, scale, s);
}

// out[h * D + d0 + l] = inv[h] * sum_j p[j * G + h] v_j[d0 + l] for NH heads, W lanes.
template <int NH, int W>
void value_block(const float* p, int G, const KeyView& kv, int n_keys, int d0, const float* inv,
                 int D, float* out) {
  vf<W> acc[NH] = {};
  for (int j = 0; j < n_keys; ++j) {
    const vf<W> v = load<W>(kv.v(j) + d0);
    const float* pj = p + static_cast<int64_t>(j) * G;
    for (int h = 0; h < NH; ++h) acc[h] += pj[h] * v;
  }
  for (int h = 0; h < NH; ++h) store<W>(out + h * D + d0, acc[h] * inv[h]);
}

template <int NH>
void value_heads(const float* p, int G, const KeyView& kv, int n_keys, const float* inv, int D,
                 float* out) {
  int d = 0;
  for (; d + 16 <= D; d += 16) value_block<NH, 16>(p, G, kv, n_keys, d, inv, D, out);
  for (; d < D; ++d) value_block<NH, 1>(p, G, kv, n_keys, d, inv, D, out);
}

// Runs fn.template operator()<NH>(h0) over head blocks of 16, 8, 4, 2, 1.
template <typename Fn>
void for_head_blocks(int G, Fn&& fn) {
  int h = 0;
  for (; h + 16 <= G; h += 16) fn.template operator()<16>(h);
  for (; h + 8 <= G; h += 8) fn.template operator()<8>(h);
  for (; h + 4 <= G; h += 4) fn.template operator()<4>(h);
  for (; h + 2 <= G; h += 2) fn.template operator()<2>(h);
  for (; h < G; ++h) fn.template operator()<1>(h);
}

struct Scratch {
  std::vector<float> qt, p, mx, inv;
};

// All G query heads of one kv group for one query over keys 0..n_keys-1.
void attend_group(const float* q, const KeyView& kv, int n_keys, int G, int D, float scale,
                  Scratch& sc, float* out) {
  sc.qt.resize(static_cast<size_t>(D) * G);
  sc.p.resize(static_cast<size_t>(n_keys) * G);
  sc.mx.assign(G, 0.0f);
  sc.inv.assign(G, 0.0f);
  for (int h = 0; h < G; ++h)
    for (int d = 0; d < D; ++d) sc.qt[static_cast<size_t>(d) * G + h] = q[h * D + d];
  float* p = sc.p.data();
  for_head_blocks(G, [&]<int NH>(int h0) {
    score_heads<NH>(sc.qt.data() + h0, G, D, kv, n_keys, scale, p + h0);
  });
  float* mx = sc.mx.data();
  for (int h = 0; h < G; ++h) mx[h] = p[h];
  for (int j = 1; j < n_keys; ++j)
    for (int h = 0; h < G; ++h) mx[h] = std::max(mx[h], p[static_cast<size_t>(j) * G + h]);
  float* sum = sc.inv.data();  // sums first, then their inverses
  for (int j = 0; j < n_keys; ++j) {
    float* pj = p + static_cast<size_t>(j) * G;
    for (int h = 0; h < G; ++h) {
      pj[h] = exp_nonpos(pj[h] - mx[h]);
      sum[h] += pj[h];
    }
  }
  for (int h = 0; h < G; ++h) sum[h] = 1.0f / sum[h];
  for_head_blocks(G, [&]<int NH>(int h0) {
    value_heads<NH>(p + h0, G, kv, n_keys, sc.inv.data() + h0, D, out + h0 * D);
  });
}

}  // namespace

void attention(const float* q, int n_q, const float* k_ctx, const float* v_ctx, int n_ctx,
               const float* k_new, const float* v_new, bool causal, const AttentionShape& shape,
               float* out) {
  const int H = shape.n_heads;
  const int KVH = shape.n_kv_heads;
  const int D = shape.head_dim;
  const int G = H / KVH;
  const int64_t q_stride = static_cast<int64_t>(H) * D;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  const int64_t items = static_cast<int64_t>(n_q) * KVH;
  ThreadPool::global().parallel_for(items, [&](int64_t begin, int64_t end) {
    Scratch sc;
    for (int64_t item = begin; item < end; ++item) {
      const int i = static_cast<int>(item / KVH);
      const int g = static_cast<int>(item % KVH);
      const int n_keys = n_ctx + (causal ? i + 1 : n_q);
      const KeyView kv{k_ctx,
                       v_ctx,
                       k_new,
                       v_new,
                       n_ctx,
                       static_cast<int64_t>(KVH) * D,
                       static_cast<int64_t>(g) * D};
      const int64_t head0 = i * q_stride + static_cast<int64_t>(g) * G * D;
      attend_group(q + head0, kv, n_keys, G, D, scale, sc, out + head0);
    }
  });
}

}  // namespace tt::cpu
