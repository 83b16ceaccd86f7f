// CUDA MoE: the device router against cpu::moe_route, and the grouped expert
// GEMM against per-expert CPU GEMMs combined like model/tower_moe.cpp.
#include "kernels/cuda/moe.hpp"

#include "kernels/cpu/gemm.hpp"
#include "kernels/cpu/moe_router.hpp"
#include "tests/kernels/cuda/gpu_support.hpp"

namespace tt {
namespace {

using cuda::DeviceBuffer;

TEST(CudaMoe, RouterMatchesCpu) {
  TT_REQUIRE_GPU();
  const int T = 40, H = 2688, E = 128, k = 6;
  auto x = test::random_floats(size_t(T) * H, -1.f, 1.f, 101), gw = test::random_floats(size_t(E) * H, -0.05f, 0.05f, 102),
       bias = test::random_floats(E, -0.1f, 0.1f, 103);
  std::vector<int> ref_e(T * k);
  std::vector<float> ref_w(T * k);
  cpu::moe_route(x.data(), T, H, gw.data(), bias.data(), {E, k, 2.5f, true}, ref_e.data(), ref_w.data());
  DeviceBuffer<float> dx(x), dg(gw), db(bias), w(T * k);
  DeviceBuffer<int> e(T * k);
  cuda::moe_route(dx.get(), T, H, dg.get(), db.get(), {E, k, 2.5f, true}, e.get(), w.get());
  EXPECT_EQ(e.download(), ref_e);
  EXPECT_LT(test::scaled_error(w.download(), ref_w), 1e-6);
}

TEST(CudaMoe, GroupedExpertsMatchCpu) {
  TT_REQUIRE_GPU();
  // H and I are multiples of neither the 32-wide k steps nor the 64-wide column tiles:
  // both GEMMs run a zero-padded k tail and a column tail.
  const int T = 21, H = 200, E = 8, I = 100, k = 2;
  auto x = test::random_floats(size_t(T) * H, -1.f, 1.f, 111);
  auto upf = test::random_floats(size_t(E) * I * H, -0.1f, 0.1f, 112), downf = test::random_floats(size_t(E) * H * I, -0.1f, 0.1f, 113);
  std::vector<uint16_t> up(upf.size()), down(downf.size());
  for (size_t i = 0; i < up.size(); ++i) up[i] = cpu::f32_to_bf16(upf[i]), down[i] = cpu::f32_to_bf16(downf[i]);
  // Routing: token t uses experts {t % E, (t * 3 + 1) % E} in ascending order (distinct), skewed to some experts.
  std::vector<int> experts(T * k);
  std::vector<float> weights = test::random_floats(T * k, 0.1f, 1.f, 114);
  for (int t = 0; t < T; ++t) {
    int a = t % E, b = (t * 3 + 1) % E;
    if (a == b) b = (b + 1) % E;
    experts[t * k] = std::min(a, b), experts[t * k + 1] = std::max(a, b);
  }
  // Reference: per assignment, down(relu(up(x))^2) through the CPU GEMM; combine in j order.
  std::vector<float> ref(size_t(T) * H, 0.f), mid(I), y(H);
  for (int t = 0; t < T; ++t)
    for (int j = 0; j < k; ++j) {
      const int e = experts[t * k + j];
      const auto pu = cpu::pack_weight_bf16(up.data() + size_t(e) * I * H, I, H);
      const auto pd = cpu::pack_weight_bf16(down.data() + size_t(e) * H * I, H, I);
      cpu::gemm(x.data() + size_t(t) * H, 1, H, pu, mid.data(), I);
      for (float& v : mid) v = v > 0.f ? v * v : 0.f;
      cpu::gemm(mid.data(), 1, I, pd, y.data(), H);
      for (int c = 0; c < H; ++c) ref[size_t(t) * H + c] += weights[t * k + j] * y[c];
    }
  DeviceBuffer<float> dx(x), dw(weights), out(ref.size());
  DeviceBuffer<int> de(experts);
  DeviceBuffer<uint16_t> dup(up), ddown(down);
  cuda::moe_experts(dx.get(), T, H, de.get(), dw.get(), k, {dup.get(), ddown.get(), E, I}, out.get());
  EXPECT_LT(test::scaled_error(out.download(), ref), 1e-6);
}

}  // namespace
}  // namespace tt
