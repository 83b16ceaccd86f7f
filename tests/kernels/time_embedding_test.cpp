// Timestep sinusoid (cos first, base 10000) and adaLN modulation.
#include "kernels/cpu/time_embedding.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

namespace tt::cpu {
namespace {

TEST(TimestepSinusoid, MatchesDouble) {
  for (int dim : {2, 8, 256}) {
    for (float t : {0.f, 1.f, 62.5f, 188.f, 1000.f}) {
      std::vector<float> out(dim, std::nanf(""));
      timestep_sinusoid(t, dim, out.data());
      const int half = dim / 2;
      for (int i = 0; i < half; ++i) {
        const double f = std::exp(-std::log(10000.0) * i / half);
        const double arg = double(t) * f;
        // Computed in double and rounded once: within an fp32 rounding of the exact value.
        const double tol = 6e-8;
        EXPECT_NEAR(out[i], std::cos(arg), tol) << "dim=" << dim << " t=" << t << " i=" << i;
        EXPECT_NEAR(out[half + i], std::sin(arg), tol) << "dim=" << dim << " t=" << t << " i=" << i;
      }
    }
  }
}

TEST(TimestepSinusoid, CosFirstAndFrequencies) {
  // i = 0 has frequency 1: out[0] = cos(t), out[half] = sin(t). The last
  // frequency is 10000^(-(half-1)/half), not 10000^-1.
  const int dim = 256, half = 128;
  std::vector<float> out(dim);
  timestep_sinusoid(2.f, dim, out.data());
  EXPECT_NEAR(out[0], std::cos(2.0), 1e-7);
  EXPECT_NEAR(out[half], std::sin(2.0), 1e-7);
  const double f_last = std::pow(10000.0, -127.0 / 128.0);
  EXPECT_NEAR(out[half - 1], std::cos(2.0 * f_last), 1e-7);
  EXPECT_NEAR(out[dim - 1], std::sin(2.0 * f_last), 1e-7);
  timestep_sinusoid(0.f, dim, out.data());
  for (int i = 0; i < half; ++i) {
    EXPECT_EQ(out[i], 1.f);
    EXPECT_EQ(out[half + i], 0.f);
  }
}

TEST(Modulate, MatchesFormulaAndInPlace) {
  const int rows = 3, dim = 37;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> d(-2.f, 2.f);
  std::vector<float> x(rows * dim), shift(dim), scale(dim), y(rows * dim);
  for (auto* v : {&x, &shift, &scale})
    for (auto& e : *v) e = d(rng);
  modulate(x.data(), shift.data(), scale.data(), y.data(), rows, dim);
  for (int r = 0; r < rows; ++r)
    for (int i = 0; i < dim; ++i) {
      const double ref = double(x[r * dim + i]) * (1.0 + scale[i]) + shift[i];
      EXPECT_NEAR(y[r * dim + i], ref, 1e-6 * (1 + std::fabs(ref)));
    }
  std::vector<float> inplace = x;
  modulate(inplace.data(), shift.data(), scale.data(), inplace.data(), rows, dim);
  EXPECT_EQ(0, std::memcmp(inplace.data(), y.data(), y.size() * 4));
}

}  // namespace
}  // namespace tt::cpu
