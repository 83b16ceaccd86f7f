// Mamba-2 scan kernels: a warp owns one state row S[h, p, :] in registers
// (lane l holds n = l, l + 32, ...), loops over its tokens, and reduces
// y = C·S across the warp.
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/device.hpp"
#include "kernels/cuda/ssm_scan.hpp"

namespace tt::cuda {
namespace {

constexpr int kWarps = 4;     // state rows per block
constexpr int kMaxPerLane = 8;  // state <= 256

struct ScanArgs {
  const float *x, *dt_raw, *B, *C, *A_log, *D, *dt_bias;
  int n_heads, head_dim, n_groups, state;
};

// Scans tokens [t0, t1) of row (h, p) from `s` (registers, updated). When y is
// non-null writes y_t.
__device__ void scan_row(const ScanArgs& a, int h, int p, int t0, int t1, float (&s)[kMaxPerLane], float* y) {
  const int lane = threadIdx.x & 31;
  const int g = h / (a.n_heads / a.n_groups);
  const long long xs = static_cast<long long>(a.n_heads) * a.head_dim;
  const long long bs = static_cast<long long>(a.n_groups) * a.state;
  const float A = -expf(a.A_log[h]), Dh = a.D[h], bias = a.dt_bias[h];
  for (int t = t0; t < t1; ++t) {
    const float dt = detail::softplus(a.dt_raw[static_cast<long long>(t) * a.n_heads + h] + bias);
    const float decay = expf(dt * A);
    const float xv = a.x[t * xs + static_cast<long long>(h) * a.head_dim + p];
    const float xdt = dt * xv;
    const float* Bt = a.B + t * bs + static_cast<long long>(g) * a.state;
    const float* Ct = a.C + t * bs + static_cast<long long>(g) * a.state;
    float acc = 0.0f;
#pragma unroll
    for (int j = 0; j < kMaxPerLane; ++j) {
      const int n = lane + 32 * j;
      if (n < a.state) {
        s[j] = fmaf(s[j], decay, xdt * Bt[n]);
        acc = fmaf(Ct[n], s[j], acc);
      }
    }
    acc = detail::warp_sum(acc);
    if (y != nullptr && lane == 0) y[t * xs + static_cast<long long>(h) * a.head_dim + p] = fmaf(Dh, xv, acc);
  }
}

__device__ void load_row(const float* S, int state, float (&s)[kMaxPerLane]) {
  const int lane = threadIdx.x & 31;
#pragma unroll
  for (int j = 0; j < kMaxPerLane; ++j) {
    const int n = lane + 32 * j;
    s[j] = n < state ? S[n] : 0.0f;
  }
}
__device__ void store_row(float* S, int state, const float (&s)[kMaxPerLane]) {
  const int lane = threadIdx.x & 31;
#pragma unroll
  for (int j = 0; j < kMaxPerLane; ++j) {
    const int n = lane + 32 * j;
    if (n < state) S[n] = s[j];
  }
}

// grid (heads, ceil(head_dim / kWarps), chunks); chunk c covers [c*Q, min(T, (c+1)*Q)).
// from_zero: start from 0 and store the end state in `states` (pass 1); else start
// from `states` and write y (passes 3 and the plain recurrence, then store the end state).
__global__ void scan_kernel(ScanArgs a, int T, int Q, float* states, float* y, bool from_zero) {
  const int h = blockIdx.x, p = blockIdx.y * kWarps + (threadIdx.x >> 5), c = blockIdx.z;
  if (p >= a.head_dim) return;
  const int t0 = c * Q, t1 = min(T, t0 + Q);
  float* row = states + ((static_cast<long long>(c) * a.n_heads + h) * a.head_dim + p) * a.state;
  float s[kMaxPerLane];
  if (from_zero) {
#pragma unroll
    for (int j = 0; j < kMaxPerLane; ++j) s[j] = 0.0f;
  } else {
    load_row(row, a.state, s);
  }
  scan_row(a, h, p, t0, t1, s, from_zero ? nullptr : y);
  store_row(row, a.state, s);
}

// Before pass 2: decay[c][h] = exp(A_h·Σdt) over chunk c, one thread per (chunk, head).
// It depends on neither p nor n, so it is computed once here rather than by every state
// element in pass 2 (same sum in the same order: the carry is bit-identical).
__global__ void chunk_decay_kernel(ScanArgs a, int T, int Q, int chunks, float* decay) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= chunks * a.n_heads) return;
  const int c = i / a.n_heads, h = i % a.n_heads;
  const float A = -expf(a.A_log[h]), bias = a.dt_bias[h];
  float dt_sum = 0.0f;
  for (int t = c * Q; t < min(T, (c + 1) * Q); ++t)
    dt_sum += detail::softplus(a.dt_raw[static_cast<long long>(t) * a.n_heads + h] + bias);
  decay[i] = expf(A * dt_sum);
}

// Pass 2: one thread per state element; walks the chunks in order.
// In: local[c] = chunk c's end state from zero; initial = the state before chunk 0;
// decay[c][h] from chunk_decay_kernel.
// Out: starts[c] (in place of local[c]) = the true state before chunk c; initial = final state.
__global__ void carry_kernel(ScanArgs a, int chunks, const float* decay, float* local, float* initial) {
  const long long per = static_cast<long long>(a.n_heads) * a.head_dim * a.state;
  const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= per) return;
  const int h = static_cast<int>(i / (static_cast<long long>(a.head_dim) * a.state));
  float s = initial[i];
  for (int c = 0; c < chunks; ++c) {
    const float loc = local[c * per + i];
    local[c * per + i] = s;
    s = fmaf(decay[c * a.n_heads + h], s, loc);
  }
  initial[i] = s;
}

ScanArgs args_of(const float* x, const float* dt_raw, const float* B, const float* C, const float* A_log,
                 const float* D, const float* dt_bias, const SsmShape& s) {
  if (s.n_heads <= 0 || s.head_dim <= 0 || s.n_groups <= 0 || s.n_heads % s.n_groups != 0 || s.state <= 0 ||
      s.state > 32 * kMaxPerLane)
    check(cudaErrorInvalidValue, "ssm_scan: shape (state must be 1..256, n_groups | n_heads)");
  return {x, dt_raw, B, C, A_log, D, dt_bias, s.n_heads, s.head_dim, s.n_groups, s.state};
}

}  // namespace

void ssm_scan_recurrent(const float* x, const float* dt_raw, const float* B, const float* C, int T,
                        const float* A_log, const float* D, const float* dt_bias, const SsmShape& shape,
                        float* ssm_state, float* y, cudaStream_t stream) {
  const ScanArgs a = args_of(x, dt_raw, B, C, A_log, D, dt_bias, shape);
  if (T <= 0) return;
  const dim3 grid(a.n_heads, (a.head_dim + kWarps - 1) / kWarps, 1);
  scan_kernel<<<grid, 32 * kWarps, 0, stream>>>(a, T, T, ssm_state, y, false);
  check(cudaGetLastError(), "ssm_scan_recurrent");
}

void ssm_scan_chunked(const float* x, const float* dt_raw, const float* B, const float* C, int T,
                      const float* A_log, const float* D, const float* dt_bias, const SsmShape& shape,
                      float* ssm_state, float* y, int chunk, cudaStream_t stream) {
  const ScanArgs a = args_of(x, dt_raw, B, C, A_log, D, dt_bias, shape);
  if (T <= 0) return;
  const int Q = max(1, min(chunk, T));
  const int chunks = (T + Q - 1) / Q;
  if (chunks == 1) return ssm_scan_recurrent(x, dt_raw, B, C, T, A_log, D, dt_bias, shape, ssm_state, y, stream);
  if (chunks > 65535) check(cudaErrorInvalidValue, "ssm_scan_chunked: more than 65535 chunks (T / chunk)");
  const long long per = static_cast<long long>(a.n_heads) * a.head_dim * a.state;
  // Scratch: states[chunks, per], then decay[chunks, n_heads].
  float* states = nullptr;
  check(cudaMallocAsync(reinterpret_cast<void**>(&states), (chunks * per + chunks * a.n_heads) * sizeof(float),
                        stream),
        "ssm_scan_chunked: cudaMallocAsync");
  float* decay = states + chunks * per;
  const dim3 grid(a.n_heads, (a.head_dim + kWarps - 1) / kWarps, chunks);  // chunks in z: <= 65535
  scan_kernel<<<grid, 32 * kWarps, 0, stream>>>(a, T, Q, states, nullptr, true);
  chunk_decay_kernel<<<detail::blocks_for(static_cast<long long>(chunks) * a.n_heads, 256), 256, 0, stream>>>(
      a, T, Q, chunks, decay);
  carry_kernel<<<detail::blocks_for(per, 256), 256, 0, stream>>>(a, chunks, decay, states, ssm_state);
  scan_kernel<<<grid, 32 * kWarps, 0, stream>>>(a, T, Q, states, y, false);
  cudaError_t e = cudaGetLastError();
  check(cudaFreeAsync(states, stream), "ssm_scan_chunked: cudaFreeAsync");
  check(e, "ssm_scan_chunked");
}

}  // namespace tt::cuda
