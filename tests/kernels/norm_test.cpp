// RMSNorm and gated group RMSNorm against naive double-precision loops.
#include "kernels/cpu/norm.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "tests/support/random.hpp"

namespace tt::cpu {
namespace {

using test::random_vec;

std::vector<double> rms_norm_ref(const std::vector<float>& x, const std::vector<float>& w, int rows,
                                 int dim, double eps) {
  std::vector<double> y(x.size());
  for (int r = 0; r < rows; ++r) {
    double ss = 0;
    for (int i = 0; i < dim; ++i) ss += double(x[r * dim + i]) * x[r * dim + i];
    const double inv = 1.0 / std::sqrt(ss / dim + eps);
    for (int i = 0; i < dim; ++i) y[r * dim + i] = x[r * dim + i] * inv * w[i];
  }
  return y;
}

std::vector<double> gated_ref(const std::vector<float>& y, const std::vector<float>& z,
                              const std::vector<float>& w, int rows, int dim, int gs, double eps) {
  std::vector<double> out(y.size());
  for (int r = 0; r < rows; ++r)
    for (int g0 = 0; g0 < dim; g0 += gs) {
      std::vector<double> v(gs);
      double ss = 0;
      for (int i = 0; i < gs; ++i) {
        const double zz = z[r * dim + g0 + i];
        v[i] = y[r * dim + g0 + i] * (zz / (1.0 + std::exp(-zz)));
        ss += v[i] * v[i];
      }
      const double inv = 1.0 / std::sqrt(ss / gs + eps);
      for (int i = 0; i < gs; ++i) out[r * dim + g0 + i] = v[i] * inv * w[g0 + i];
    }
  return out;
}

void expect_close(const std::vector<float>& got, const std::vector<double>& ref, double rel) {
  ASSERT_EQ(got.size(), ref.size());
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], ref[i], rel * std::fabs(ref[i]) + 1e-7) << "at " << i;
}

TEST(RmsNorm, MatchesDouble) {
  for (int dim : {1, 7, 16, 33, 2688}) {
    const int rows = 5;
    auto x = random_vec(size_t(rows) * dim, -2.f, 2.f, 1 + dim);
    // A row of tiny values, where eps dominates the mean square.
    for (int i = 0; i < dim; ++i) x[i] *= 1e-3f;
    const auto w = random_vec(dim, 0.5f, 1.5f, 100 + dim);
    std::vector<float> y(x.size());
    rms_norm(x.data(), w.data(), y.data(), rows, dim, 1e-5f);
    expect_close(y, rms_norm_ref(x, w, rows, dim, 1e-5), 2e-6);
  }
}

TEST(RmsNorm, InPlaceAndRowInvariant) {
  const int rows = 9, dim = 100;
  const auto x = random_vec(size_t(rows) * dim, -3.f, 3.f, 7);
  const auto w = random_vec(dim, -1.f, 1.f, 8);
  std::vector<float> y(x.size());
  rms_norm(x.data(), w.data(), y.data(), rows, dim, 1e-5f);
  std::vector<float> inplace = x;
  rms_norm(inplace.data(), w.data(), inplace.data(), rows, dim, 1e-5f);
  EXPECT_EQ(0, std::memcmp(y.data(), inplace.data(), y.size() * 4));
  for (int r = 0; r < rows; ++r) {
    std::vector<float> one(dim);
    rms_norm(x.data() + r * dim, w.data(), one.data(), 1, dim, 1e-5f);
    EXPECT_EQ(0, std::memcmp(one.data(), y.data() + r * dim, dim * 4)) << "row " << r;
  }
}

TEST(GatedGroupRmsNorm, MatchesDouble) {
  struct Case {
    int dim, gs;
  };
  for (const Case c : {Case{64, 16}, Case{24, 8}, Case{40, 40}, Case{4096, 512}, Case{21, 7}}) {
    const int rows = 4;
    const auto y = random_vec(size_t(rows) * c.dim, -2.f, 2.f, c.dim);
    auto z = random_vec(size_t(rows) * c.dim, -4.f, 4.f, c.dim + 1);
    // Groups of very different scale: each must be normalised on its own.
    for (int i = 0; i < c.gs && c.gs < c.dim; ++i) z[i] *= 0.01f;
    const auto w = random_vec(c.dim, 0.5f, 1.5f, c.dim + 2);
    std::vector<float> out(y.size());
    gated_group_rms_norm(y.data(), z.data(), w.data(), out.data(), rows, c.dim, c.gs, 1e-5f);
    expect_close(out, gated_ref(y, z, w, rows, c.dim, c.gs, 1e-5), 4e-6);
  }
}

TEST(GatedGroupRmsNorm, EpsMatters) {
  // v = 2e-3: mean(v^2) = 4e-6 < eps, so the output is well below unit rms.
  const int dim = 32, gs = 16;
  std::vector<float> y(dim, 1e-4f), z(dim, 20.f), w(dim, 1.f), out(dim);
  gated_group_rms_norm(y.data(), z.data(), w.data(), out.data(), 1, dim, gs, 1e-5f);
  const auto ref = gated_ref(y, z, w, 1, dim, gs, 1e-5);
  const double v = 1e-4 * (20.0 / (1.0 + std::exp(-20.0)));
  EXPECT_NEAR(ref[0], v / std::sqrt(v * v + 1e-5), 1e-6);
  expect_close(out, ref, 2e-6);
}

TEST(GatedGroupRmsNorm, RowInvariantAndAliasing) {
  const int rows = 6, dim = 48, gs = 16;
  const auto y = random_vec(size_t(rows) * dim, -2.f, 2.f, 3);
  const auto z = random_vec(size_t(rows) * dim, -2.f, 2.f, 4);
  const auto w = random_vec(dim, -1.f, 1.f, 5);
  std::vector<float> out(y.size());
  gated_group_rms_norm(y.data(), z.data(), w.data(), out.data(), rows, dim, gs, 1e-5f);
  std::vector<float> alias = y;
  gated_group_rms_norm(alias.data(), z.data(), w.data(), alias.data(), rows, dim, gs, 1e-5f);
  EXPECT_EQ(0, std::memcmp(out.data(), alias.data(), out.size() * 4));
  std::vector<float> one(dim);
  gated_group_rms_norm(y.data() + 2 * dim, z.data() + 2 * dim, w.data(), one.data(), 1, dim, gs,
                       1e-5f);
  EXPECT_EQ(0, std::memcmp(one.data(), out.data() + 2 * dim, dim * 4));
}

}  // namespace
}  // namespace tt::cpu
