// CUDA causal conv1d + SiLU with history against the CPU kernel, including
// running a sequence in pieces with the history updated in between.
#include "kernels/cuda/conv1d.hpp"

#include "kernels/cpu/conv1d.hpp"
#include "tests/kernels/cuda/gpu_support.hpp"

namespace tt {
namespace {

using cuda::DeviceBuffer;

TEST(CudaConv1d, MatchesCpuAndPiecesEqualWhole) {
  TT_REQUIRE_GPU();
  const int C = 6144, K = 4;
  for (int T : {1, 16, 37}) {
    auto x = test::random_floats(size_t(T) * C, -2.f, 2.f, 21), hist = test::random_floats(size_t(K - 1) * C, -2.f, 2.f, 22);
    auto w = test::random_floats(size_t(C) * K, -0.5f, 0.5f, 23), b = test::random_floats(C, -0.1f, 0.1f, 24);
    std::vector<float> ref(x.size()), ref_hist = hist;
    cpu::causal_conv1d_silu(x.data(), T, C, hist.data(), K, w.data(), b.data(), ref.data());
    cpu::conv1d_update_history(x.data(), T, C, K, ref_hist.data());

    DeviceBuffer<float> dx(x), dh(hist), dw(w), db(b), out(x.size());
    cuda::causal_conv1d_silu(dx.get(), T, C, dh.get(), K, dw.get(), db.get(), out.get());
    EXPECT_LT(test::scaled_error(out.download(), ref), 1e-6) << T;
    cuda::conv1d_update_history(dx.get(), T, C, K, dh.get());
    EXPECT_EQ(dh.download(), ref_hist) << T;

    // Token by token with history updates equals the whole run.
    DeviceBuffer<float> h2(hist), piece(C);
    std::vector<float> got;
    for (int t = 0; t < T; ++t) {
      const float* xt = dx.get() + size_t(t) * C;
      cuda::causal_conv1d_silu(xt, 1, C, h2.get(), K, dw.get(), db.get(), piece.get());
      cuda::conv1d_update_history(xt, 1, C, K, h2.get());
      auto p = piece.download();
      got.insert(got.end(), p.begin(), p.end());
    }
    EXPECT_LT(test::scaled_error(got, ref), 1e-6) << T;
  }
}

}  // namespace
}  // namespace tt
