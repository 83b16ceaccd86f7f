// CUDA Mamba-2 scan: the recurrence (incl. the single-step update) and the
// chunked scan from a non-zero initial state, against the CPU recurrence.
#include "kernels/cuda/ssm_scan.hpp"

#include "kernels/cpu/ssm_scan.hpp"
#include "tests/kernels/cuda/gpu_support.hpp"

namespace tt {
namespace {

using cuda::DeviceBuffer;

struct Inputs {
  cpu::SsmShape s;
  int T;
  std::vector<float> x, dt, B, C, A_log, D, dt_bias, state;
  // dt_raw in [dt_lo, dt_hi): the default decays a 128-token chunk's carried state to ~0.
  Inputs(cpu::SsmShape shape, int T_, uint32_t seed, float dt_lo = -4.f, float dt_hi = 1.f) : s(shape), T(T_) {
    const size_t xd = size_t(s.n_heads) * s.head_dim, bd = size_t(s.n_groups) * s.state;
    x = test::random_floats(T * xd, -1.f, 1.f, seed);
    dt = test::random_floats(size_t(T) * s.n_heads, dt_lo, dt_hi, seed + 1);
    B = test::random_floats(T * bd, -1.f, 1.f, seed + 2);
    C = test::random_floats(T * bd, -1.f, 1.f, seed + 3);
    A_log = test::random_floats(s.n_heads, -1.f, 1.f, seed + 4);
    D = test::random_floats(s.n_heads, 0.5f, 1.5f, seed + 5);
    dt_bias = test::random_floats(s.n_heads, -1.f, 1.f, seed + 6);
    state = test::random_floats(size_t(s.n_heads) * s.head_dim * s.state, -2.f, 2.f, seed + 7);
  }
};

cuda::SsmShape gpu(const cpu::SsmShape& s) { return {s.n_heads, s.head_dim, s.n_groups, s.state}; }

void run(const Inputs& in, int chunk, double tol) {
  std::vector<float> ref_state = in.state, ref_y(in.x.size());
  cpu::ssm_scan_recurrent(in.x.data(), in.dt.data(), in.B.data(), in.C.data(), in.T, in.A_log.data(), in.D.data(),
                          in.dt_bias.data(), in.s, ref_state.data(), ref_y.data());
  DeviceBuffer<float> x(in.x), dt(in.dt), B(in.B), C(in.C), A(in.A_log), D(in.D), bias(in.dt_bias), st(in.state),
      y(in.x.size());
  if (chunk <= 0)
    cuda::ssm_scan_recurrent(x.get(), dt.get(), B.get(), C.get(), in.T, A.get(), D.get(), bias.get(), gpu(in.s),
                             st.get(), y.get());
  else
    cuda::ssm_scan_chunked(x.get(), dt.get(), B.get(), C.get(), in.T, A.get(), D.get(), bias.get(), gpu(in.s),
                           st.get(), y.get(), chunk);
  EXPECT_LT(test::scaled_error(y.download(), ref_y), tol) << "T " << in.T << " chunk " << chunk;
  EXPECT_LT(test::scaled_error(st.download(), ref_state), tol) << "T " << in.T << " chunk " << chunk;
}

TEST(CudaSsmScan, SingleStepUpdateMatchesCpu) {
  TT_REQUIRE_GPU();
  run(Inputs({64, 64, 8, 128}, 1, 31), 0, 1e-5);  // 30B shape
}

TEST(CudaSsmScan, RecurrenceMatchesCpu) {
  TT_REQUIRE_GPU();
  run(Inputs({8, 8, 2, 16}, 50, 41), 0, 1e-5);    // tiny-random shape
  run(Inputs({16, 64, 2, 128}, 64, 51), 0, 1e-5);
  run(Inputs({6, 6, 2, 16}, 20, 53), 0, 1e-5);     // head_dim not a multiple of 4: idle warps
}

TEST(CudaSsmScan, ChunkedFromInitialStateMatchesRecurrence) {
  TT_REQUIRE_GPU();
  run(Inputs({8, 8, 2, 16}, 100, 61), 16, 5e-5);
  run(Inputs({16, 64, 2, 128}, 300, 71), 128, 5e-5);
  run(Inputs({16, 64, 2, 128}, 16, 81), 4, 5e-5);  // a denoiser block in 4 chunks
  // Small dt: a chunk's decay stays well above 0, so the carried states matter.
  run(Inputs({16, 64, 2, 128}, 300, 73, -6.f, -3.f), 128, 5e-5);
  run(Inputs({6, 6, 2, 16}, 40, 83), 8, 5e-5);      // idle warps in every pass
}

TEST(CudaSsmScan, RejectsTooLargeState) {
  TT_REQUIRE_GPU();
  DeviceBuffer<float> buf(16);
  EXPECT_THROW(cuda::ssm_scan_recurrent(buf.get(), buf.get(), buf.get(), buf.get(), 1, buf.get(), buf.get(),
                                        buf.get(), {1, 1, 1, 512}, buf.get(), buf.get()),
               std::runtime_error);
}

}  // namespace
}  // namespace tt
