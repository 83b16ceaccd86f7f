// CUDA RMSNorm, gated group RMSNorm and adaLN modulation against the CPU kernels.
#include "kernels/cuda/norm.hpp"

#include "kernels/cpu/norm.hpp"
#include "kernels/cpu/time_embedding.hpp"
#include "tests/kernels/cuda/gpu_support.hpp"

namespace tt {
namespace {

using cuda::DeviceBuffer;

TEST(CudaNorm, RmsNormMatchesCpu) {
  TT_REQUIRE_GPU();
  for (int dim : {64, 2688}) {
    const int rows = 37;
    auto x = test::random_floats(size_t(rows) * dim, -3.f, 3.f, 1), w = test::random_floats(dim, 0.5f, 1.5f, 2);
    std::vector<float> ref(x.size());
    cpu::rms_norm(x.data(), w.data(), ref.data(), rows, dim, 1e-5f);
    DeviceBuffer<float> dx(x), dw(w), dy(x.size());
    cuda::rms_norm(dx.get(), dw.get(), dy.get(), rows, dim, 1e-5f);
    EXPECT_LT(test::scaled_error(dy.download(), ref), 2e-6) << dim;
    cuda::rms_norm(dx.get(), dw.get(), dx.get(), rows, dim, 1e-5f);  // in place
    EXPECT_LT(test::scaled_error(dx.download(), ref), 2e-6) << dim;
  }
}

TEST(CudaNorm, GatedGroupRmsNormMatchesCpu) {
  TT_REQUIRE_GPU();
  const int rows = 19, dim = 4096, group = 512;
  auto y = test::random_floats(size_t(rows) * dim, -2.f, 2.f, 3), z = test::random_floats(y.size(), -4.f, 4.f, 4);
  auto w = test::random_floats(dim, 0.5f, 1.5f, 5);
  std::vector<float> ref(y.size());
  cpu::gated_group_rms_norm(y.data(), z.data(), w.data(), ref.data(), rows, dim, group, 1e-5f);
  DeviceBuffer<float> dy(y), dz(z), dw(w), out(y.size());
  cuda::gated_group_rms_norm(dy.get(), dz.get(), dw.get(), out.get(), rows, dim, group, 1e-5f);
  EXPECT_LT(test::scaled_error(out.download(), ref), 2e-6);
  EXPECT_THROW(cuda::gated_group_rms_norm(dy.get(), dz.get(), dw.get(), out.get(), rows, dim, 500, 1e-5f),
               std::runtime_error);
}

TEST(CudaNorm, ModulateMatchesCpu) {
  TT_REQUIRE_GPU();
  const int rows = 16, dim = 2688;
  auto x = test::random_floats(size_t(rows) * dim, -2.f, 2.f, 6), shift = test::random_floats(dim, -1.f, 1.f, 7),
       scale = test::random_floats(dim, -1.f, 1.f, 8);
  std::vector<float> ref(x.size());
  cpu::modulate(x.data(), shift.data(), scale.data(), ref.data(), rows, dim);
  DeviceBuffer<float> dx(x), dsh(shift), dsc(scale);
  cuda::modulate(dx.get(), dsh.get(), dsc.get(), dx.get(), rows, dim);
  EXPECT_LT(test::scaled_error(dx.download(), ref), 1e-6);
}

}  // namespace
}  // namespace tt
