// GPU test helpers: skip without a device, random inputs, tolerance checks.
#pragma once

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/cuda/device.hpp"

// Every GPU test starts with this: skipped (never failed) where no CUDA device is present.
#define TT_REQUIRE_GPU()                                                        \
  do {                                                                          \
    if (tt::cuda::device_count() == 0) GTEST_SKIP() << "no CUDA device present"; \
  } while (0)

namespace tt::test {

inline std::vector<float> random_floats(size_t n, float lo, float hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& e : v) e = d(rng);
  return v;
}

// max |a - b| / max(floor, max |b|): error relative to the reference's scale.
// Infinite when the sizes differ or either side holds a NaN or infinity (std::max
// would skip a NaN, so an all-NaN result would score 0).
inline double scaled_error(const std::vector<float>& a, const std::vector<float>& b, double floor = 1e-6) {
  constexpr double kFail = std::numeric_limits<double>::infinity();
  if (a.size() != b.size()) return kFail;
  double err = 0.0, scale = floor;
  for (size_t i = 0; i < b.size(); ++i) {
    if (!std::isfinite(a[i]) || !std::isfinite(b[i])) return kFail;
    err = std::max(err, static_cast<double>(std::fabs(a[i] - b[i])));
    scale = std::max(scale, static_cast<double>(std::fabs(b[i])));
  }
  return err / scale;
}

// Runs this test binary again as another process, with `env` (NAME='value' ...) set and only
// the test `filter`; returns its output (stdout and stderr) and sets `status` (pclose's).
inline std::string run_self(const std::string& env, const std::string& filter, int& status) {
  char self[4096] = {};
  if (readlink("/proc/self/exe", self, sizeof self - 1) <= 0) return status = -1, "cannot find /proc/self/exe";
  FILE* p = popen((env + " " + self + " --gtest_filter=" + filter + " 2>&1").c_str(), "r");
  if (p == nullptr) return status = -1, "popen failed";
  std::string out;
  char b[512];
  while (fgets(b, sizeof b, p) != nullptr) out += b;
  status = pclose(p);
  return out;
}

}  // namespace tt::test
