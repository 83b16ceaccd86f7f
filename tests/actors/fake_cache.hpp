// Test helper: a fake sequence cache (attention rows counting up, Mamba state
// that changes every block) and a check that a CacheView shows exactly it.
#pragma once

#include <vector>

#include <gtest/gtest.h>

#include "actors/cache_transport.hpp"

namespace tt::actors::test {

// A fake sequence cache: `layers` attention layers of rows counting up, and Mamba state.
struct FakeCache {
  CacheShape shape{2, 3, 2, 4, 5};
  std::vector<std::vector<float>> k, v, conv, ssm;
  int length = 0;
  FakeCache() : k(2), v(2), conv(2, std::vector<float>(4)), ssm(2, std::vector<float>(5)) {}
  void grow(int rows) {
    for (int r = 0; r < rows; ++r, ++length)
      for (uint32_t l = 0; l < shape.attention_layers; ++l)
        for (uint32_t i = 0; i < shape.kv_row_floats; ++i) {
          k[l].push_back(1000.0f * l + 10.0f * length + i);
          v[l].push_back(-1000.0f * l - 10.0f * length - i);
        }
    for (auto& c : conv) for (auto& x : c) x += 1;
    for (auto& s : ssm) for (auto& x : s) x += 2;
  }
  CacheView view() const {
    CacheView w;
    w.length = length;
    for (uint32_t l = 0; l < shape.attention_layers; ++l) w.k.push_back(k[l].data()), w.v.push_back(v[l].data());
    for (uint32_t l = 0; l < shape.mamba_layers; ++l) w.conv.push_back(conv[l].data()), w.ssm.push_back(ssm[l].data());
    return w;
  }
};

inline void expect_same(const FakeCache& c, const CacheView& w) {
  ASSERT_EQ(w.length, c.length);
  for (uint32_t l = 0; l < c.shape.attention_layers; ++l)
    for (size_t i = 0; i < c.k[l].size(); ++i) {
      ASSERT_EQ(w.k[l][i], c.k[l][i]) << "layer " << l << " float " << i;
      ASSERT_EQ(w.v[l][i], c.v[l][i]);
    }
  for (uint32_t l = 0; l < c.shape.mamba_layers; ++l) {
    for (size_t i = 0; i < c.conv[l].size(); ++i) ASSERT_EQ(w.conv[l][i], c.conv[l][i]);
    for (size_t i = 0; i < c.ssm[l].size(); ++i) ASSERT_EQ(w.ssm[l][i], c.ssm[l][i]);
  }
}

}  // namespace tt::actors::test
