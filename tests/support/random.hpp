// Test helper: seeded uniform random vectors for kernel tests.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace tt::test {

inline std::vector<float> random_vec(size_t n, float lo, float hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& e : v) e = dist(rng);
  return v;
}

}  // namespace tt::test
