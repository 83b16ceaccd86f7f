// cuBLAS GEMM (bf16 weights, bf16-rounded activations, fp32 accumulation)
// against the CPU GEMM on the same bf16-rounded inputs.
#include "kernels/cuda/gemm.hpp"

#include "kernels/cpu/gemm.hpp"
#include "tests/kernels/cuda/gpu_support.hpp"

namespace tt {
namespace {

using cuda::DeviceBuffer;

TEST(CudaGemm, MatchesCpuOnBf16RoundedInputs) {
  TT_REQUIRE_GPU();
  cuda::Blas blas;
  struct Case { int m, n, k, ldx; };
  for (const Case c : {Case{1, 300, 2688, 2688}, Case{7, 1856, 2688, 2700}, Case{64, 129, 96, 96}}) {
    auto x = test::random_floats(size_t(c.m) * c.ldx, -1.f, 1.f, 11);
    auto wf = test::random_floats(size_t(c.n) * c.k, -0.1f, 0.1f, 12);
    std::vector<uint16_t> wb(wf.size());
    for (size_t i = 0; i < wf.size(); ++i) wb[i] = cpu::f32_to_bf16(wf[i]);
    std::vector<float> xr(x.size());
    for (size_t i = 0; i < x.size(); ++i) xr[i] = cpu::bf16_to_f32(cpu::f32_to_bf16(x[i]));
    const cpu::PackedWeight pw = cpu::pack_weight_bf16(wb.data(), c.n, c.k);
    std::vector<float> ref(size_t(c.m) * c.n);
    cpu::gemm(xr.data(), c.m, c.ldx, pw, ref.data(), c.n);

    DeviceBuffer<float> dx(x), dy(ref.size());
    DeviceBuffer<uint16_t> dw(wb);
    const cuda::DeviceWeight w{dw.get(), c.n, c.k};
    cuda::gemm(blas, dx.get(), c.m, c.ldx, w, dy.get(), c.n);
    EXPECT_LT(test::scaled_error(dy.download(), ref), 1e-5) << c.m << "x" << c.n << "x" << c.k;
    // accumulate: y += x Wᵀ doubles the result.
    cuda::gemm(blas, dx.get(), c.m, c.ldx, w, dy.get(), c.n, true);
    for (float& v : ref) v *= 2.0f;
    EXPECT_LT(test::scaled_error(dy.download(), ref), 1e-5);
  }
}

TEST(CudaGemm, RejectsBadStrides) {
  TT_REQUIRE_GPU();
  cuda::Blas blas;
  DeviceBuffer<float> x(64), y(64);
  DeviceBuffer<uint16_t> w(64);
  EXPECT_THROW(cuda::gemm(blas, x.get(), 1, 4, {w.get(), 8, 8}, y.get(), 8), std::invalid_argument);
}

}  // namespace
}  // namespace tt
