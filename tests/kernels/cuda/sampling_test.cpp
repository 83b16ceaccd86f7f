// CUDA token choice against the CPU sampling kernels: greedy and Gumbel-max,
// the mask id excluded, confidence = p(token) from the unscaled distribution.
#include "kernels/cuda/sampling.hpp"

#include <cmath>
#include <limits>

#include "kernels/cpu/sampling.hpp"
#include "model/decoding.hpp"
#include "tests/kernels/cuda/gpu_support.hpp"

namespace tt {
namespace {

using cuda::DeviceBuffer;

TEST(CudaSampling, MatchesCpuGreedyAndGumbel) {
  TT_REQUIRE_GPU();
  const int rows = 16, V = 131072, mask = 3;
  auto logits = test::random_floats(size_t(rows) * V, -8.f, 8.f, 121);
  logits[size_t(5) * V + mask] = 100.f;  // the mask id must never win
  std::vector<uint64_t> streams(rows);
  for (int r = 0; r < rows; ++r) streams[r] = 1000 + r;
  DeviceBuffer<float> dl(logits), conf(rows);
  DeviceBuffer<int32_t> tok(rows);
  DeviceBuffer<uint64_t> ds(streams);
  for (float temperature : {0.0f, 0.7f}) {
    cuda::pick_tokens(dl.get(), rows, V, mask, temperature, 42, ds.get(), tok.get(), conf.get());
    const auto t = tok.download();
    const auto c = conf.download();
    std::vector<float> row(V), logp(V);
    for (int r = 0; r < rows; ++r) {
      std::copy_n(&logits[size_t(r) * V], V, row.begin());
      row[mask] = -std::numeric_limits<float>::infinity();
      cpu::log_softmax(row.data(), V, logp.data());
      const int want = temperature <= 0.f ? cpu::argmax(logp.data(), V)
                                          : cpu::gumbel_argmax(row.data(), V, temperature, 42, streams[r]);
      EXPECT_EQ(t[r], want) << "row " << r << " temperature " << temperature;
      EXPECT_NEAR(c[r], std::exp(logp[want]), 1e-6f * std::exp(logp[want]) + 1e-12f);
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
