// CUDA MoE: the device router against cpu::moe_route, and the routed experts (tiled
// grouped GEMM and the decode GEMV) against per-expert CPU GEMMs combined like
// model/tower_moe.cpp, and against each other.
#include "kernels/cuda/moe.hpp"

#include <algorithm>
#include <utility>

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

// A routed-expert case: T tokens, each on k distinct experts (skewed to some), and
// the CPU reference: per assignment down(relu(up(x))^2) through the CPU GEMM, combined in j order.
struct ExpertCase {
  int T, H, E, I, k;
  std::vector<float> x, weights, ref;
  std::vector<uint16_t> up, down;
  std::vector<int> experts;
  ExpertCase(int T_, int H_, int E_, int I_, int k_) : T(T_), H(H_), E(E_), I(I_), k(k_) {
    x = test::random_floats(size_t(T) * H, -1.f, 1.f, 111);
    const auto upf = test::random_floats(size_t(E) * I * H, -0.1f, 0.1f, 112);
    const auto downf = test::random_floats(size_t(E) * H * I, -0.1f, 0.1f, 113);
    up.resize(upf.size()), down.resize(downf.size());
    for (size_t i = 0; i < up.size(); ++i) up[i] = cpu::f32_to_bf16(upf[i]), down[i] = cpu::f32_to_bf16(downf[i]);
    weights = test::random_floats(T * k, 0.1f, 1.f, 114);
    experts.resize(T * k);
    for (int t = 0; t < T; ++t) {  // experts t, 3t+1, 5t+2, ... (mod E), distinct, ascending
      std::vector<int> chosen;
      for (int j = 0, step = 1; int(chosen.size()) < k; ++j, step += 2) {
        int e = (t * step + j) % E;
        while (std::find(chosen.begin(), chosen.end(), e) != chosen.end()) e = (e + 1) % E;
        chosen.push_back(e);
      }
      std::sort(chosen.begin(), chosen.end());
      std::copy(chosen.begin(), chosen.end(), experts.begin() + t * k);
    }
    ref.assign(size_t(T) * H, 0.f);
    std::vector<float> mid(I), y(H);
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
  }
  // moe_experts on tokens [first, first + n).
  std::vector<float> run(int first, int n) const {
    const std::vector<float> xs(x.begin() + size_t(first) * H, x.begin() + size_t(first + n) * H);
    const std::vector<float> ws(weights.begin() + first * k, weights.begin() + (first + n) * k);
    const std::vector<int> es(experts.begin() + first * k, experts.begin() + (first + n) * k);
    DeviceBuffer<float> dx(xs), dw(ws), out(size_t(n) * H);
    DeviceBuffer<int> de(es);
    DeviceBuffer<uint16_t> dup(up), ddown(down);
    cuda::moe_experts(dx.get(), n, H, de.get(), dw.get(), k, {dup.get(), ddown.get(), E, I}, out.get());
    return out.download();
  }
};

TEST(CudaMoe, GroupedExpertsMatchCpu) {
  TT_REQUIRE_GPU();
  // H and I are multiples of neither the 32-wide k steps nor the 64-wide column tiles:
  // both GEMMs run a zero-padded k tail and a column tail.
  const ExpertCase c(21, 200, 8, 100, 2);
  EXPECT_LT(test::scaled_error(c.run(0, c.T), c.ref), 1e-6);
}

TEST(CudaMoe, DecodeShapesGiveTheSameNumbersAsTheTiledGemm) {
  TT_REQUIRE_GPU();
  // T <= 8 streams the experts (moe_gemv.cu), T = 21 runs the tiled GEMM: a token's
  // output is bitwise the same either way. K = 200 and 104 leave a tail of the
  // 128-wide k tiles, N = 104 and 200 a column tail.
  const ExpertCase c(21, 200, 8, 104, 3);
  const auto all = c.run(0, c.T);
  EXPECT_LT(test::scaled_error(all, c.ref), 1e-6);
  for (const auto& [first, n] : {std::pair{0, 1}, std::pair{1, 5}, std::pair{6, 8}, std::pair{14, 7}}) {
    const auto part = c.run(first, n);
    const std::vector<float> same(all.begin() + size_t(first) * c.H, all.begin() + size_t(first + n) * c.H);
    EXPECT_EQ(part, same) << "tokens " << first << ".." << first + n - 1;
  }
}

TEST(CudaMoe, RealSizeDecodeMatchesCpu) {
  TT_REQUIRE_GPU();
  // The 30B model's expert shapes (H 2688, width 1856, top 6) at batch 1 and 8, on 8 experts.
  const ExpertCase c(8, 2688, 8, 1856, 6);
  EXPECT_LT(test::scaled_error(c.run(0, 1), {c.ref.begin(), c.ref.begin() + c.H}), 1e-6);
  EXPECT_LT(test::scaled_error(c.run(0, 8), c.ref), 1e-6);
}

}  // namespace
}  // namespace tt
