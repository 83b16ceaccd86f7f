// The GPU ContextCompute (what `twotower context --device N` extends with)
// against the CPU one on the default model: after a prefill and two
// extensions the host caches it syncs back hold the same K/V rows and Mamba
// state as the CPU's (within bf16-activation tolerance), greedy AR picks are
// the CPU's near-argmax, scoring logits agree, and the exported region shows
// the device cache's own buffers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include "model/context_compute.hpp"
#include "model/cuda/gpu_context.hpp"
#include "tests/kernels/cuda/gpu_support.hpp"

namespace tt {
namespace {

TEST(GpuContextCompute, HostCachesPicksAndScoresMatchTheCpuCompute) {
  TT_REQUIRE_GPU();
  const std::string dir = std::string(TWOTOWER_TEST_SOURCE) + "/models/default";
  const ModelConfig config = load_config(dir + "/config.json");
  auto ck = std::make_shared<const Checkpoint>(Checkpoint::open(dir));
  const ModelWeights weights = load_weights(config, ck);
  auto cpu = cpu_context_compute(config, weights);
  auto gpu = gpu::context_compute(config, *ck, 0);

  // Sequence 2 runs the same tokens but is never synced: same picks, only the length kept.
  // Sequence 1 is synced after the second piece and at the end (rows from the middle on).
  SequenceCache cpu_cache(config), gpu_cache(config), ar_cache(config);
  const std::vector<std::vector<int32_t>> pieces = {{1, 300, 301, 302, 303, 304, 17, 900}, {12}, {40, 41, 42, 43}};
  for (const auto& tokens : pieces) {
    std::vector<int32_t> cp, gp;
    cpu->extend(std::vector<ContextCompute::Item>{{1, tokens, &cpu_cache, true}}, cp);
    gpu->extend(std::vector<ContextCompute::Item>{{1, tokens, &gpu_cache, true}, {2, tokens, &ar_cache, true}}, gp);
    if (&tokens == &pieces[1]) gpu->sync_host(1, gpu_cache);
    ASSERT_EQ(gp.size(), 2u);
    EXPECT_EQ(gp[1], gp[0]);
    EXPECT_EQ(ar_cache.length(), gpu_cache.length());
    EXPECT_TRUE(ar_cache.kv(0).k.empty());
    ASSERT_EQ(gpu_cache.length(), cpu_cache.length());
    // The GPU's pick is the CPU's argmax or within a small logit margin of it.
    std::vector<int32_t> all;
    for (const auto& p : pieces) {
      all.insert(all.end(), p.begin(), p.end());
      if (&p == &tokens) break;
    }
    std::vector<float> logits;
    const int row = static_cast<int>(all.size()) - 1;
    cpu->score_logits(all, {&row, 1}, logits);
    const float gap = *std::max_element(logits.begin(), logits.end()) - logits[gp[0]];
    std::printf("[gpu-context] after %d tokens: GPU pick %d, CPU pick %d, logit gap %.4f\n", gpu_cache.length(), gp[0],
                cp[0], gap);
    EXPECT_LE(gap, 0.1f);
  }
  gpu->sync_host(1, gpu_cache);
  ASSERT_EQ(gpu_cache.kv(0).k.size(), static_cast<size_t>(gpu_cache.length()) * config.num_key_value_heads * config.head_dim);
  for (int s = 0; s < cpu_cache.attention_slots(); ++s) {
    EXPECT_LT(test::scaled_error(gpu_cache.kv(s).k, cpu_cache.kv(s).k), 5e-2);
    EXPECT_LT(test::scaled_error(gpu_cache.kv(s).v, cpu_cache.kv(s).v), 5e-2);
  }
  for (int s = 0; s < cpu_cache.mamba_slots(); ++s) {
    EXPECT_LT(test::scaled_error(gpu_cache.mamba(s).conv, cpu_cache.mamba(s).conv), 5e-2);
    EXPECT_LT(test::scaled_error(gpu_cache.mamba(s).ssm, cpu_cache.mamba(s).ssm), 5e-2);
  }
  const std::vector<int32_t> text = {1, 300, 301, 302, 303, 304};
  const std::vector<int> rows = {2, 3, 4};
  std::vector<float> a, b;
  cpu->score_logits(text, rows, a);
  gpu->score_logits(text, rows, b);
  EXPECT_LT(test::scaled_error(b, a), 5e-2);

  EXPECT_EQ(gpu->device(), 0);
  EXPECT_GE(gpu->device_cache_bytes(), gpu_cache.bytes());  // capacity >= rows, for two sequences
  EXPECT_EQ(cpu->device_cache_bytes(), 0u);
  DeviceRegion region;
  ASSERT_TRUE(gpu->export_region(1, region));
  EXPECT_FALSE(gpu->export_region(77, region));
  ASSERT_TRUE(gpu->export_region(1, region));
  EXPECT_EQ(region.device, 0);
  EXPECT_EQ(region.length, gpu_cache.length());
  EXPECT_GT(region.bytes, region.kv_offset);
  gpu->forget(1);
  gpu->forget(2);
}

TEST(GpuContextCompute, AMissingDeviceIsAClearError) {
  const std::string dir = std::string(TWOTOWER_TEST_SOURCE) + "/tests/data/tiny-random";
  const ModelConfig config = load_config(dir + "/config.json");
  const Checkpoint ck = Checkpoint::open(dir);
  EXPECT_THROW(gpu::context_compute(config, ck, 4096), std::exception);
}

}  // namespace
}  // namespace tt
