// Causal depthwise conv1d + SiLU with history, against a naive double loop.
#include "kernels/cpu/conv1d.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "tests/support/random.hpp"

namespace tt::cpu {
namespace {

using test::random_vec;

// in = [history ; x]; out[t] uses in rows t .. t+K-1 (newest last).
std::vector<double> conv_ref(const std::vector<float>& x, int T, int C,
                             const std::vector<float>& hist, int K, const std::vector<float>& w,
                             const std::vector<float>& bias) {
  std::vector<float> in(hist);
  in.insert(in.end(), x.begin(), x.end());
  std::vector<double> out(size_t(T) * C);
  for (int t = 0; t < T; ++t)
    for (int c = 0; c < C; ++c) {
      double acc = bias[c];
      for (int j = 0; j < K; ++j) acc += double(w[c * K + j]) * in[(t + j) * C + c];
      out[t * C + c] = acc / (1.0 + std::exp(-acc));
    }
  return out;
}

struct ConvParams {
  int C, K;
  std::vector<float> hist, w, bias;
  ConvParams(int C_, int K_, uint32_t seed)
      : C(C_),
        K(K_),
        hist(random_vec(size_t(K_ - 1) * C_, -2.f, 2.f, seed)),
        w(random_vec(size_t(C_) * K_, -1.f, 1.f, seed + 1)),
        bias(random_vec(C_, -0.5f, 0.5f, seed + 2)) {}
};

TEST(Conv1d, MatchesNaiveWithHistory) {
  for (int K : {2, 4}) {
    for (int T : {1, 2, 4, 5, 13}) {  // T < K-1, T == K-1, T > K
      const int C = 37;
      ConvParams s(C, K, 10 * K + T);
      const auto x = random_vec(size_t(T) * C, -2.f, 2.f, 99 + T);
      std::vector<float> out(size_t(T) * C);
      causal_conv1d_silu(x.data(), T, C, s.hist.data(), K, s.w.data(), s.bias.data(), out.data());
      const auto ref = conv_ref(x, T, C, s.hist, K, s.w, s.bias);
      for (size_t i = 0; i < out.size(); ++i)
        ASSERT_NEAR(out[i], ref[i], 1e-6 + 1e-6 * std::fabs(ref[i]))
            << "K=" << K << " T=" << T << " i=" << i;
    }
  }
}

TEST(Conv1d, NewestInputUsesLastTap) {
  // Only tap K-1 non-zero: out[t] = silu(w * x[t]) regardless of history.
  const int C = 3, K = 4, T = 2;
  std::vector<float> hist(size_t(K - 1) * C, 5.f), w(size_t(C) * K, 0.f), bias(C, 0.f);
  for (int c = 0; c < C; ++c) w[c * K + K - 1] = 1.f;
  const std::vector<float> x = {1, 2, 3, -1, -2, -3};
  std::vector<float> out(x.size());
  causal_conv1d_silu(x.data(), T, C, hist.data(), K, w.data(), bias.data(), out.data());
  for (size_t i = 0; i < x.size(); ++i)
    EXPECT_NEAR(out[i], x[i] / (1.0 + std::exp(-double(x[i]))), 1e-6);
}

TEST(Conv1d, UpdateHistoryKeepsLastRows) {
  const int C = 5, K = 4;
  for (int T : {1, 2, 3, 7}) {
    auto hist = random_vec(size_t(K - 1) * C, -1.f, 1.f, T);
    const auto x = random_vec(size_t(T) * C, -1.f, 1.f, 50 + T);
    std::vector<float> all(hist);
    all.insert(all.end(), x.begin(), x.end());
    conv1d_update_history(x.data(), T, C, K, hist.data());
    EXPECT_EQ(0, std::memcmp(hist.data(), all.data() + (all.size() - hist.size()), hist.size() * 4))
        << "T=" << T;
  }
}

TEST(Conv1d, TwoPiecesEqualOnePass) {
  const int C = 19, K = 4, T = 11;
  ConvParams s(C, K, 4242);
  const auto x = random_vec(size_t(T) * C, -2.f, 2.f, 77);
  std::vector<float> full(size_t(T) * C);
  causal_conv1d_silu(x.data(), T, C, s.hist.data(), K, s.w.data(), s.bias.data(), full.data());
  for (int split : {1, 2, 3, 6, 10}) {
    std::vector<float> hist = s.hist, out(size_t(T) * C);
    causal_conv1d_silu(x.data(), split, C, hist.data(), K, s.w.data(), s.bias.data(), out.data());
    conv1d_update_history(x.data(), split, C, K, hist.data());
    causal_conv1d_silu(x.data() + split * C, T - split, C, hist.data(), K, s.w.data(),
                       s.bias.data(), out.data() + split * C);
    EXPECT_EQ(0, std::memcmp(full.data(), out.data(), out.size() * 4)) << "split " << split;
  }
}

}  // namespace
}  // namespace tt::cpu
