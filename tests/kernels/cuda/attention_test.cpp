// CUDA GQA attention against the CPU kernel: causal prefill, cached extension
// and the denoiser's non-causal block over [context K/V ; block K/V].
#include "kernels/cuda/attention.hpp"

#include "kernels/cpu/attention.hpp"
#include "tests/kernels/cuda/gpu_support.hpp"

namespace tt {
namespace {

using cuda::DeviceBuffer;

void compare(int n_heads, int n_kv, int hd, int n_ctx, int n_q, bool causal) {
  const size_t qd = size_t(n_heads) * hd, kd = size_t(n_kv) * hd;
  auto q = test::random_floats(n_q * qd, -1.f, 1.f, 91), kc = test::random_floats(std::max(n_ctx, 1) * kd, -1.f, 1.f, 92),
       vc = test::random_floats(std::max(n_ctx, 1) * kd, -1.f, 1.f, 93), kn = test::random_floats(n_q * kd, -1.f, 1.f, 94),
       vn = test::random_floats(n_q * kd, -1.f, 1.f, 95);
  std::vector<float> ref(n_q * qd);
  cpu::attention(q.data(), n_q, n_ctx ? kc.data() : nullptr, n_ctx ? vc.data() : nullptr, n_ctx, kn.data(), vn.data(),
                 causal, {n_heads, n_kv, hd}, ref.data());
  DeviceBuffer<float> dq(q), dkc(kc), dvc(vc), dkn(kn), dvn(vn), out(ref.size());
  cuda::attention(dq.get(), n_q, dkc.get(), dvc.get(), n_ctx, dkn.get(), dvn.get(), causal, {n_heads, n_kv, hd},
                  out.get());
  // The GPU sums keys in another order and uses CUDA's expf: at 1000 keys that is about
  // 2e-6 (emulated), so the bound leaves room above it.
  EXPECT_LT(test::scaled_error(out.download(), ref), 1e-5)
      << n_heads << "/" << n_kv << "/" << hd << " ctx " << n_ctx << " q " << n_q << " causal " << causal;
}

TEST(CudaAttention, CausalPrefillMatchesCpu) {
  TT_REQUIRE_GPU();
  compare(4, 2, 16, 0, 33, true);      // tiny-random
  compare(32, 2, 128, 0, 100, true);   // 30B
}

TEST(CudaAttention, CachedExtensionMatchesCpu) {
  TT_REQUIRE_GPU();
  compare(4, 2, 64, 70, 16, true);
  compare(4, 1, 64, 300, 200, true);  // keys split over two blocks, causal
  compare(32, 2, 128, 1000, 1, true);  // decode
}

TEST(CudaAttention, DenoiserBlockOverContextMatchesCpu) {
  TT_REQUIRE_GPU();
  compare(32, 2, 128, 517, 16, false);
  compare(4, 2, 16, 0, 16, false);
}

TEST(CudaAttention, LargeGroupsWideHeadsAndEmptySplitsMatchCpu) {
  TT_REQUIRE_GPU();
  compare(64, 2, 128, 100, 8, false);  // 32 heads per kv head: 1024 threads, 49,280 B of shared memory
  compare(8, 4, 256, 40, 8, true);     // head_dim 256: 8 dims per lane, 67,712 B of shared memory
  // One kv head, 4 queries over 260 keys: split (on 132 SMs into 2 x 130 keys); query 0
  // sees no key of the second split, which the combine skips.
  compare(4, 1, 64, 0, 260, true);
}

TEST(CudaAttention, RejectsBadShape) {
  TT_REQUIRE_GPU();
  DeviceBuffer<float> b(1024);
  EXPECT_THROW(cuda::attention(b.get(), 1, b.get(), b.get(), 0, b.get(), b.get(), true, {3, 2, 16}, b.get()),
               std::runtime_error);
}

}  // namespace
}  // namespace tt
