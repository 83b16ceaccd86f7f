// MoE router: fp64 sigmoid scores, biased top-k selection, unbiased normalised
// weights, against brute force and a hand-checked example.
#include "kernels/cpu/moe_router.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

#include "tests/support/random.hpp"

namespace tt::cpu {
namespace {

using test::random_vec;

struct Routed {
  std::vector<int> experts;
  std::vector<float> weights;
};

Routed route(const std::vector<float>& x, int T, int H, const std::vector<float>& gate_w,
             const std::vector<float>& bias, const RouterShape& shape) {
  Routed r{std::vector<int>(size_t(T) * shape.top_k, -1),
           std::vector<float>(size_t(T) * shape.top_k, std::nanf(""))};
  moe_route(x.data(), T, H, gate_w.data(), bias.data(), shape, r.experts.data(), r.weights.data());
  return r;
}

// Sort every expert by (s + bias) descending, index ascending; take top_k.
Routed brute_force(const std::vector<float>& x, int T, int H, const std::vector<float>& gate_w,
                   const std::vector<float>& bias, const RouterShape& shape) {
  Routed r;
  const int E = shape.n_experts;
  for (int t = 0; t < T; ++t) {
    std::vector<double> s(E);
    for (int e = 0; e < E; ++e) {
      double l = 0;
      for (int h = 0; h < H; ++h) l += double(x[t * H + h]) * gate_w[size_t(e) * H + h];
      s[e] = 1.0 / (1.0 + std::exp(-l));
    }
    std::vector<int> idx(E);
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(),
                     [&](int a, int b) { return s[a] + bias[a] > s[b] + bias[b]; });
    idx.resize(shape.top_k);
    std::sort(idx.begin(), idx.end());
    double sum = 0;
    for (int e : idx) sum += s[e];
    for (int e : idx) {
      r.experts.push_back(e);
      const double w = shape.normalize ? s[e] / (sum + 1e-20) : s[e];
      r.weights.push_back(float(w * shape.scaling));
    }
  }
  return r;
}

void expect_same(const Routed& got, const Routed& ref) {
  ASSERT_EQ(got.experts, ref.experts);
  for (size_t i = 0; i < got.weights.size(); ++i)
    EXPECT_NEAR(got.weights[i], ref.weights[i], 1e-6 * std::fabs(ref.weights[i])) << i;
}

TEST(MoeRouter, MatchesBruteForce) {
  for (bool normalize : {true, false}) {
    const int T = 20, H = 96;
    const RouterShape shape{128, 6, 2.5f, normalize};
    const auto x = random_vec(size_t(T) * H, -1.f, 1.f, 1);
    const auto gate_w = random_vec(size_t(shape.n_experts) * H, -0.3f, 0.3f, 2);
    const auto bias = random_vec(shape.n_experts, -0.2f, 0.2f, 3);
    expect_same(route(x, T, H, gate_w, bias, shape), brute_force(x, T, H, gate_w, bias, shape));
  }
}

// Hand-checked: x = [1, 0], expert e's logit = gate_w[e][0].
// logits {0, ln 3, -ln 3, ln 9} -> s = {0.5, 0.75, 0.25, 0.9}.
TEST(MoeRouter, HandCheckedExample) {
  const std::vector<float> x = {1.f, 0.f};
  const std::vector<float> gate_w = {
      0.f, 7.f, float(std::log(3.0)), 7.f, float(-std::log(3.0)), 7.f, float(std::log(9.0)), 7.f};
  const RouterShape shape{4, 2, 2.5f, true};
  // No bias: top-2 by s = experts 3 (0.9) and 1 (0.75), reported ascending.
  const auto plain = route(x, 1, 2, gate_w, {0.f, 0.f, 0.f, 0.f}, shape);
  EXPECT_EQ(plain.experts, (std::vector<int>{1, 3}));
  EXPECT_NEAR(plain.weights[0], 0.75 / 1.65 * 2.5, 1e-6);
  EXPECT_NEAR(plain.weights[1], 0.90 / 1.65 * 2.5, 1e-6);
  // Bias +0.5 on expert 0: selection by s + bias = {1.0, 0.75, 0.25, 0.9} picks
  // 0 and 3, but the weights use the unbiased s = {0.5, 0.9}.
  const auto biased = route(x, 1, 2, gate_w, {0.5f, 0.f, 0.f, 0.f}, shape);
  EXPECT_EQ(biased.experts, (std::vector<int>{0, 3}));
  EXPECT_NEAR(biased.weights[0], 0.5 / 1.4 * 2.5, 1e-6);
  EXPECT_NEAR(biased.weights[1], 0.9 / 1.4 * 2.5, 1e-6);
  // Without normalisation: s * scaling.
  const auto raw = route(x, 1, 2, gate_w, {0.5f, 0.f, 0.f, 0.f}, {4, 2, 2.5f, false});
  EXPECT_NEAR(raw.weights[0], 0.5 * 2.5, 1e-6);
  EXPECT_NEAR(raw.weights[1], 0.9 * 2.5, 1e-6);
}

TEST(MoeRouter, TiesGoToLowerIndex) {
  // All scores equal: experts 0..k-1, each weight scaling / k.
  const int H = 4;
  const RouterShape shape{16, 3, 2.5f, true};
  const std::vector<float> x = {1.f, -2.f, 3.f, 0.5f}, gate_w(size_t(16) * H, 0.f), bias(16, 0.f);
  const auto r = route(x, 1, H, gate_w, bias, shape);
  EXPECT_EQ(r.experts, (std::vector<int>{0, 1, 2}));
  for (float w : r.weights) EXPECT_NEAR(w, 2.5 / 3, 1e-6);
  // A tie in s + bias between experts 5 and 9 above all others: 5 wins the last slot.
  std::vector<float> b2(16, 0.f);
  b2[2] = 1.f;
  b2[7] = 1.f;
  b2[5] = 0.5f;
  b2[9] = 0.5f;
  EXPECT_EQ(route(x, 1, H, gate_w, b2, shape).experts, (std::vector<int>{2, 5, 7}));
}

TEST(MoeRouter, TokenInvariantToBatch) {
  const int T = 9, H = 64;
  const RouterShape shape{32, 4, 2.5f, true};
  const auto x = random_vec(size_t(T) * H, -1.f, 1.f, 5);
  const auto gate_w = random_vec(size_t(shape.n_experts) * H, -0.5f, 0.5f, 6);
  const auto bias = random_vec(shape.n_experts, -0.1f, 0.1f, 7);
  const auto all = route(x, T, H, gate_w, bias, shape);
  for (int t = 0; t < T; ++t) {
    const std::vector<float> xt(x.begin() + t * H, x.begin() + (t + 1) * H);
    const auto one = route(xt, 1, H, gate_w, bias, shape);
    EXPECT_TRUE(std::equal(one.experts.begin(), one.experts.end(), all.experts.begin() + t * 4));
    EXPECT_EQ(0, std::memcmp(one.weights.data(), all.weights.data() + t * 4, 4 * sizeof(float)));
  }
}

}  // namespace
}  // namespace tt::cpu
