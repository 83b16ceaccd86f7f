// CUDA token choice against the CPU sampling kernels: greedy and Gumbel-max,
// the mask id excluded, confidence = p(token) from the unscaled distribution.
#include "kernels/cuda/sampling.hpp"

#include <cmath>
#include <limits>

#include "kernels/cpu/sampling.hpp"
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
