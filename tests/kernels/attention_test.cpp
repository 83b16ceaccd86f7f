// GQA attention (causal prefill, cached extension, block mode) against a naive
// double-precision implementation, plus bit-exact batch and thread invariance.
#include "kernels/cpu/attention.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/cpu/thread_pool.hpp"

#include "tests/support/random.hpp"

namespace tt::cpu {
namespace {

using test::random_vec;

struct Inputs {
  AttentionShape shape;
  int n_q, n_ctx;
  std::vector<float> q, k_ctx, v_ctx, k_new, v_new;

  Inputs(AttentionShape s, int nq, int nctx, uint32_t seed, float q_scale = 1.f)
      : shape(s), n_q(nq), n_ctx(nctx) {
    const size_t qd = size_t(s.n_heads) * s.head_dim, kd = size_t(s.n_kv_heads) * s.head_dim;
    q = random_vec(nq * qd, -q_scale, q_scale, seed);
    k_ctx = random_vec(nctx * kd, -1.f, 1.f, seed + 1);
    v_ctx = random_vec(nctx * kd, -1.f, 1.f, seed + 2);
    k_new = random_vec(nq * kd, -1.f, 1.f, seed + 3);
    v_new = random_vec(nq * kd, -1.f, 1.f, seed + 4);
  }

  std::vector<float> run(bool causal) const {
    std::vector<float> out(q.size(), std::nanf(""));
    attention(q.data(), n_q, n_ctx ? k_ctx.data() : nullptr, n_ctx ? v_ctx.data() : nullptr, n_ctx,
              k_new.data(), v_new.data(), causal, shape, out.data());
    return out;
  }
};

std::vector<double> attention_ref(const Inputs& in, bool causal) {
  const auto& s = in.shape;
  const int D = s.head_dim, group = s.n_heads / s.n_kv_heads;
  std::vector<double> out(in.q.size());
  for (int i = 0; i < in.n_q; ++i)
    for (int h = 0; h < s.n_heads; ++h) {
      const int g = h / group;
      const float* qh = in.q.data() + (size_t(i) * s.n_heads + h) * D;
      std::vector<const float*> ks, vs;
      for (int j = 0; j < in.n_ctx; ++j) {
        ks.push_back(in.k_ctx.data() + (size_t(j) * s.n_kv_heads + g) * D);
        vs.push_back(in.v_ctx.data() + (size_t(j) * s.n_kv_heads + g) * D);
      }
      for (int j = 0; j < (causal ? i + 1 : in.n_q); ++j) {
        ks.push_back(in.k_new.data() + (size_t(j) * s.n_kv_heads + g) * D);
        vs.push_back(in.v_new.data() + (size_t(j) * s.n_kv_heads + g) * D);
      }
      std::vector<double> sc(ks.size());
      double mx = -1e300;
      for (size_t j = 0; j < ks.size(); ++j) {
        double d = 0;
        for (int e = 0; e < D; ++e) d += double(qh[e]) * ks[j][e];
        sc[j] = d / std::sqrt(double(D));
        mx = std::max(mx, sc[j]);
      }
      double sum = 0;
      for (auto& e : sc) sum += (e = std::exp(e - mx));
      for (int e = 0; e < D; ++e) {
        double acc = 0;
        for (size_t j = 0; j < ks.size(); ++j) acc += sc[j] * vs[j][e];
        out[(size_t(i) * s.n_heads + h) * D + e] = acc / sum;
      }
    }
  return out;
}

void expect_matches_ref(const Inputs& in, bool causal, double tol = 2e-6) {
  const auto got = in.run(causal);
  const auto ref = attention_ref(in, causal);
  double max_err = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double e = std::fabs(got[i] - ref[i]);
    if (!(e <= max_err)) max_err = e;  // a NaN sticks
  }
  // |v| <= 1: outputs are convex combinations, so an absolute bound is meaningful.
  EXPECT_LT(max_err, tol) << "heads " << in.shape.n_heads << "/" << in.shape.n_kv_heads
                          << " D=" << in.shape.head_dim << " n_q=" << in.n_q
                          << " n_ctx=" << in.n_ctx << " causal=" << causal;
}

// Query heads per kv head: 2, 8, 2, 16 (the 30B model), 3 (uneven head blocks);
// head_dim 20 leaves a tail that is not a multiple of the vector width.
const AttentionShape kShapes[] = {{4, 2, 16}, {8, 1, 128}, {4, 2, 128}, {32, 2, 128}, {6, 2, 20}};

TEST(Attention, CausalPrefill) {
  for (const auto& s : kShapes)
    for (int n_q : {1, 2, 17, 40}) expect_matches_ref(Inputs(s, n_q, 0, n_q), true);
}

TEST(Attention, CausalExtension) {
  for (const auto& s : kShapes)
    for (int n_ctx : {1, 37, 300})
      for (int n_q : {1, 16}) expect_matches_ref(Inputs(s, n_q, n_ctx, n_ctx + n_q), true);
}

TEST(Attention, BlockModeSeesWholeBlock) {
  for (const auto& s : kShapes)
    for (int n_ctx : {0, 5, 300}) expect_matches_ref(Inputs(s, 16, n_ctx, 7 * n_ctx + 1), false);
}

TEST(Attention, LargeScoresNeedMaxSubtraction) {
  // A component shared by every key shifts all scores by 2000 / sqrt(128) ~ 177:
  // softmax is unchanged, but exp without max subtraction overflows fp32.
  // The tolerance reflects fp32 rounding of scores near 177 (ulp ~ 1.5e-5).
  for (bool causal : {true, false}) {
    Inputs in({4, 2, 128}, 8, 50, 5);
    for (size_t r = 0; r < in.q.size(); r += 128) in.q[r] = 2000.f;
    for (auto* k : {&in.k_ctx, &in.k_new})
      for (size_t r = 0; r < k->size(); r += 128) (*k)[r] = 1.f;
    expect_matches_ref(in, causal, 2e-4);
  }
}

TEST(Attention, CausalQueryInvariantToBatch) {
  // Query i inside a causal batch of 16 == a lone query whose ctx holds the
  // batch's first i keys: same visible keys, bit-identical output.
  for (const auto& s : kShapes) {
    const Inputs batch(s, 16, 33, 123);
    const auto full = batch.run(true);
    const size_t kd = size_t(s.n_kv_heads) * s.head_dim, qd = size_t(s.n_heads) * s.head_dim;
    for (int i = 0; i < 16; ++i) {
      Inputs one(s, 1, 33 + i, 0);
      one.k_ctx = batch.k_ctx;
      one.v_ctx = batch.v_ctx;
      one.k_ctx.insert(one.k_ctx.end(), batch.k_new.begin(), batch.k_new.begin() + i * kd);
      one.v_ctx.insert(one.v_ctx.end(), batch.v_new.begin(), batch.v_new.begin() + i * kd);
      one.k_new.assign(batch.k_new.begin() + i * kd, batch.k_new.begin() + (i + 1) * kd);
      one.v_new.assign(batch.v_new.begin() + i * kd, batch.v_new.begin() + (i + 1) * kd);
      one.q.assign(batch.q.begin() + i * qd, batch.q.begin() + (i + 1) * qd);
      const auto alone = one.run(true);
      EXPECT_EQ(0, std::memcmp(alone.data(), full.data() + i * qd, qd * 4)) << "query " << i;
    }
  }
}

TEST(Attention, BlockModeInvariantToCtxSplit) {
  // Non-causal: moving the first 8 block keys into ctx leaves queries 8..15
  // with the same key sequence.
  const AttentionShape s{4, 2, 128};
  const Inputs batch(s, 16, 20, 321);
  const auto full = batch.run(false);
  const size_t kd = size_t(s.n_kv_heads) * s.head_dim, qd = size_t(s.n_heads) * s.head_dim;
  Inputs half(s, 8, 28, 0);
  half.k_ctx = batch.k_ctx;
  half.v_ctx = batch.v_ctx;
  half.k_ctx.insert(half.k_ctx.end(), batch.k_new.begin(), batch.k_new.begin() + 8 * kd);
  half.v_ctx.insert(half.v_ctx.end(), batch.v_new.begin(), batch.v_new.begin() + 8 * kd);
  half.k_new.assign(batch.k_new.begin() + 8 * kd, batch.k_new.end());
  half.v_new.assign(batch.v_new.begin() + 8 * kd, batch.v_new.end());
  half.q.assign(batch.q.begin() + 8 * qd, batch.q.end());
  const auto part = half.run(false);
  EXPECT_EQ(0, std::memcmp(part.data(), full.data() + 8 * qd, 8 * qd * 4));
}

TEST(Attention, ThreadCountInvariant) {
  const Inputs in({8, 2, 128}, 16, 100, 9);
  ThreadPool::set_global_threads(1);
  const auto one = in.run(true);
  ThreadPool::set_global_threads(3);
  const auto three = in.run(true);
  ThreadPool::set_global_threads(0);
  EXPECT_EQ(0, std::memcmp(one.data(), three.data(), one.size() * 4));
}

}  // namespace
}  // namespace tt::cpu
