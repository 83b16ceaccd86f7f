// CUDA token choice against the CPU sampling kernels: greedy and Gumbel-max,
// the mask id excluded, confidence = p(token) from the unscaled distribution.
#include "kernels/cuda/sampling.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/cpu/sampling.hpp"
#include "model/decoding.hpp"
#include "tests/kernels/cuda/gpu_support.hpp"

namespace tt {
namespace {

using cuda::DeviceBuffer;

struct Picks {
  std::vector<int32_t> tokens;
  std::vector<float> confidence;
};

// cuda::pick_tokens over rows of V logits (host in, host out), seed 42.
Picks pick(const std::vector<float>& logits, int rows, int V, int mask, float temperature,
           const std::vector<uint64_t>& streams) {
  DeviceBuffer<float> dl(logits), conf(rows);
  DeviceBuffer<int32_t> tok(rows);
  DeviceBuffer<uint64_t> ds(streams);
  cuda::pick_tokens(dl.get(), rows, V, mask, temperature, 42, ds.get(), tok.get(), conf.get());
  return {tok.download(), conf.download()};
}

// pick_tokens over `rows` random rows of V logits == the CPU kernels, greedy and Gumbel-max.
void expect_cpu_picks(int rows, int V, uint32_t seed) {
  const int mask = 3;
  auto logits = test::random_floats(size_t(rows) * V, -8.f, 8.f, seed);
  logits[size_t(rows - 1) * V + mask] = 100.f;  // the mask id must never win
  std::vector<uint64_t> streams(rows);
  for (int r = 0; r < rows; ++r) streams[r] = 1000 + r;
  for (float temperature : {0.0f, 0.7f}) {
    const auto [t, c] = pick(logits, rows, V, mask, temperature, streams);
    std::vector<float> row(V), logp(V);
    for (int r = 0; r < rows; ++r) {
      std::copy_n(&logits[size_t(r) * V], V, row.begin());
      row[mask] = -std::numeric_limits<float>::infinity();
      cpu::log_softmax(row.data(), V, logp.data());
      const int want = temperature <= 0.f ? cpu::argmax(logp.data(), V)
                                          : cpu::gumbel_argmax(row.data(), V, temperature, 42, streams[r]);
      EXPECT_EQ(t[r], want) << "V " << V << " row " << r << " temperature " << temperature;
      EXPECT_NEAR(c[r], std::exp(logp[want]), 1e-6f * std::exp(logp[want]) + 1e-12f) << "V " << V << " row " << r;
    }
  }
}

TEST(CudaSampling, MatchesCpuGreedyAndGumbel) {
  TT_REQUIRE_GPU();
  expect_cpu_picks(16, 131072, 121);
  // Vocabularies that are no multiple of the 512 threads: some threads hold no entry in
  // the last pass (or, below 512, none at all) going into the block argmax.
  expect_cpu_picks(4, 1000, 122);
  expect_cpu_picks(4, 131072 + 77, 123);
}

// A non-finite log-probability of the chosen token gives a NaN confidence, which the
// callers turn into the CPU's "non-finite logits" error: a NaN or +inf logit anywhere in
// the row (the log-sum-exp is NaN), or no finite logit to choose.
TEST(CudaSampling, NonFiniteRowsGiveANanConfidence) {
  TT_REQUIRE_GPU();
  const int rows = 4, V = 1000, mask = 3;
  const float inf = std::numeric_limits<float>::infinity();
  auto logits = test::random_floats(size_t(rows) * V, -8.f, 8.f, 131);
  logits[17] = std::numeric_limits<float>::quiet_NaN();  // row 0
  logits[size_t(1) * V + 17] = inf;                      // row 1
  std::fill_n(&logits[size_t(2) * V], V, -inf);          // row 2; row 3 stays finite
  const std::vector<uint64_t> streams = {1, 2, 3, 4};
  for (float temperature : {0.0f, 0.7f}) {
    const auto [t, c] = pick(logits, rows, V, mask, temperature, streams);
    for (int r = 0; r < rows; ++r) {
      EXPECT_GE(t[r], 0) << "row " << r;
      EXPECT_LT(t[r], V) << "row " << r;
      EXPECT_EQ(std::isnan(c[r]), r < 3) << "row " << r << " temperature " << temperature << " confidence " << c[r];
    }
  }
}

}  // namespace
}  // namespace tt

namespace tt {
namespace {

// pick_tokens + commit_blocks on the device == model/decoding.cpp diffusion_step,
// over every step of a few blocks (greedy and sampled; some positions pre-committed).
TEST(CudaSampling, CommitBlocksMatchesDiffusionStep) {
  TT_REQUIRE_GPU();
  const int blocks = 5, S = 16, V = 4096, mask = 3;
  for (float temperature : {0.0f, 0.9f}) {
    DiffusionParams params;
    params.temperature = temperature;
    params.seed = 7;
    params.gamma = 0.05f;
    std::vector<BlockState> cpu_blocks;
    std::vector<int32_t> tokens;
    std::vector<int> steps(blocks, 0);
    for (int b = 0; b < blocks; ++b) {
      cpu_blocks.push_back(new_block(b, S, mask));
      if (b == 2) cpu_blocks[b].tokens[4] = 77;  // already committed
      tokens.insert(tokens.end(), cpu_blocks[b].tokens.begin(), cpu_blocks[b].tokens.end());
    }
    DeviceBuffer<int32_t> dtok(tokens), pred(blocks * S);
    DeviceBuffer<float> conf(blocks * S);
    DeviceBuffer<int> dstep(steps), committed(blocks);
    for (int step = 0; step < params.steps; ++step) {
      // Sharp logits, so that several positions pass gamma at once.
      auto logits = test::random_floats(size_t(blocks) * S * V, -4.f, 4.f, 200 + step);
      for (size_t r = 0; r < size_t(blocks) * S; ++r) logits[r * V + (r * 37 + step) % V] += 9.f + r % 5;
      std::vector<uint64_t> streams(blocks * S);
      for (int b = 0; b < blocks; ++b)
        for (int p = 0; p < S; ++p) streams[b * S + p] = diffusion_stream(b, cpu_blocks[b].step, p);
      DeviceBuffer<float> dl(logits);
      DeviceBuffer<uint64_t> ds(streams);
      cuda::pick_tokens(dl.get(), blocks * S, V, mask, temperature, params.seed, ds.get(), pred.get(), conf.get());
      cuda::commit_blocks(dtok.get(), pred.get(), conf.get(), blocks, S, mask, dstep.get(), params.steps,
                          params.gamma, committed.get());
      const auto got_k = committed.download();
      for (int b = 0; b < blocks; ++b) {
        const int k = diffusion_step(std::span<const float>(&logits[size_t(b) * S * V], size_t(S) * V), V,
                                     cpu_blocks[b], params, mask);
        EXPECT_EQ(got_k[b], k) << "block " << b << " step " << step;
      }
      const auto got = dtok.download();
      for (int b = 0; b < blocks; ++b)
        EXPECT_EQ(std::vector<int32_t>(got.begin() + b * S, got.begin() + (b + 1) * S), cpu_blocks[b].tokens)
            << "block " << b << " step " << step << " temperature " << temperature;
    }
    for (const auto& b : cpu_blocks) EXPECT_EQ(b.masked(mask), 0);
  }
}

}  // namespace
}  // namespace tt
