// Counter-based RNG, log-softmax, argmax and Gumbel-max sampling.
#include "kernels/cpu/sampling.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace tt::cpu {
namespace {

TEST(Sampling, Mix64KnownValues) {
  // Computed with Python integer arithmetic from the splitmix64 finaliser.
  EXPECT_EQ(mix64(0), 0xe220a8397b1dcdafULL);
  EXPECT_EQ(mix64(1), 0x910a2dec89025cc1ULL);
  EXPECT_EQ(mix64(0x123456789abcdef0ULL), 0x161922c645ce50e8ULL);
  EXPECT_EQ(mix64(~0ULL), 0xe4d971771b652c20ULL);
}

TEST(Sampling, CounterUniformKnownValues) {
  // key = mix64(mix64(mix64(seed) ^ stream) ^ counter); u = ((key >> 40) + 0.5) / 2^24.
  EXPECT_EQ(counter_uniform(0, 0, 0), 0.1387093961238861);
  EXPECT_EQ(counter_uniform(42, 7, 123456), 0.1144573986530304);
  EXPECT_EQ(counter_uniform(~0ULL, 3, 5), 0.06951048970222473);
  EXPECT_EQ(counter_gumbel(42, 7, 123456), -std::log(-std::log(0.1144573986530304)));
}

TEST(Sampling, CounterUniformIsUniform) {
  const int n = 100000;
  double sum = 0, sum_sq = 0;
  int low_half = 0;
  for (int i = 0; i < n; ++i) {
    // Walk counters in one stream and streams at one counter.
    const double u = i % 2 ? counter_uniform(9, 1, i) : counter_uniform(9, i, 0);
    ASSERT_GT(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    sum_sq += u * u;
    low_half += u < 0.5;
  }
  const double mean = sum / n;
  EXPECT_NEAR(mean, 0.5, 0.005);  // sd of the mean ~ 0.0009
  EXPECT_NEAR(sum_sq / n - mean * mean, 1.0 / 12, 0.003);
  EXPECT_NEAR(double(low_half) / n, 0.5, 0.005);
  EXPECT_NE(counter_uniform(1, 2, 3), counter_uniform(1, 3, 2));
  EXPECT_NE(counter_uniform(1, 2, 3), counter_uniform(2, 2, 3));
}

TEST(Sampling, LogSoftmaxMatchesDouble) {
  std::mt19937 rng(4);
  std::uniform_real_distribution<float> d(-30.f, 30.f);
  for (int n : {1, 5, 1000}) {
    std::vector<float> x(n), out(n);
    for (auto& e : x) e = d(rng);
    if (n > 1) x[1] = -std::numeric_limits<float>::infinity();
    if (n > 2) x[2] = 1e4f;  // a large logit: exp without max subtraction overflows
    log_softmax(x.data(), n, out.data());
    double mx = -1e300, sum = 0;
    for (float v : x) mx = std::max(mx, double(v));
    for (float v : x) sum += std::exp(double(v) - mx);
    for (int i = 0; i < n; ++i) {
      const double ref = double(x[i]) - mx - std::log(sum);
      if (std::isinf(ref)) {
        EXPECT_EQ(out[i], -std::numeric_limits<float>::infinity());
      } else {
        EXPECT_NEAR(out[i], ref, 1e-6 * (1 + std::fabs(ref))) << "n=" << n << " i=" << i;
      }
    }
  }
}

TEST(Sampling, ArgmaxFirstOnTies) {
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> a = {1, 3, 2, 3, 3};
  EXPECT_EQ(argmax(a.data(), 5), 1);
  const std::vector<float> b = {-inf, -inf, -5, -5};
  EXPECT_EQ(argmax(b.data(), 4), 2);
  const std::vector<float> c = {-inf, -inf, -inf};
  EXPECT_EQ(argmax(c.data(), 3), 0);
  const std::vector<float> d = {0, 0, 7};
  EXPECT_EQ(argmax(d.data(), 3), 2);
}

int brute_gumbel(const std::vector<float>& x, float temp, uint64_t seed, uint64_t stream) {
  int best = -1;
  double bv = 0;
  for (int i = 0; i < int(x.size()); ++i) {
    if (x[i] <= -1e30f) continue;
    const double v = double(x[i]) / temp + counter_gumbel(seed, stream, i);
    if (best < 0 || v > bv) best = i, bv = v;
  }
  return best;
}

TEST(Sampling, GumbelArgmaxMatchesDefinition) {
  std::mt19937 rng(8);
  std::uniform_real_distribution<float> d(-5.f, 5.f);
  std::vector<float> x(3000);
  for (auto& e : x) e = d(rng);
  x[17] = -std::numeric_limits<float>::infinity();
  x[18] = -1e31f;
  for (float temp : {0.3f, 1.f, 2.5f})
    for (uint64_t stream = 0; stream < 200; ++stream)
      ASSERT_EQ(gumbel_argmax(x.data(), int(x.size()), temp, 77, stream),
                brute_gumbel(x, temp, 77, stream))
          << "temp " << temp << " stream " << stream;
}

TEST(Sampling, GumbelArgmaxFrequenciesFollowSoftmax) {
  const std::vector<float> x = {1.0f,   0.0f, 2.0f,
                                -1e31f, 0.5f, -std::numeric_limits<float>::infinity()};
  const float temp = 0.7f;
  const int n = int(x.size()), draws = 200000;
  std::vector<int> count(n, 0);
  for (int s = 0; s < draws; ++s) ++count[gumbel_argmax(x.data(), n, temp, 12345, s)];
  double z = 0;
  std::vector<double> p(n, 0.0);
  for (int i = 0; i < n; ++i)
    if (x[i] > -1e30f) z += (p[i] = std::exp(x[i] / temp));
  for (int i = 0; i < n; ++i) {
    p[i] /= z;
    const double sd = std::sqrt(p[i] * (1 - p[i]) / draws);
    EXPECT_NEAR(double(count[i]) / draws, p[i], 5 * sd + 1e-9) << "token " << i;
  }
  EXPECT_EQ(count[3], 0);
  EXPECT_EQ(count[5], 0);
}

TEST(Sampling, GumbelArgmaxEdgeCases) {
  const std::vector<float> x = {0.f, 4.f, 1.f};
  EXPECT_EQ(gumbel_argmax(x.data(), 3, 0.f, 1, 2), 1);  // temperature 0: argmax
  const std::vector<float> masked = {-1e31f, -std::numeric_limits<float>::infinity()};
  EXPECT_EQ(gumbel_argmax(masked.data(), 2, 1.f, 1, 2), 0);  // all excluded: argmax
  // Same (seed, stream) -> same draw; the draw depends on nothing else.
  const std::vector<float> flat(50, 0.f);
  EXPECT_EQ(gumbel_argmax(flat.data(), 50, 1.f, 3, 4), gumbel_argmax(flat.data(), 50, 1.f, 3, 4));
  int differ = 0;
  for (uint64_t s = 0; s < 20; ++s)
    differ +=
        gumbel_argmax(flat.data(), 50, 1.f, 3, s) != gumbel_argmax(flat.data(), 50, 1.f, 4, s);
  EXPECT_GT(differ, 10);
}

}  // namespace
}  // namespace tt::cpu
