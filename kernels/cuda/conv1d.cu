// Causal depthwise conv1d: one thread per (t, channel), taps summed oldest first
// with fused multiply-add like the CPU reference.
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/conv1d.hpp"
#include "kernels/cuda/device.hpp"

namespace tt::cuda {
namespace {

__global__ void conv_kernel(const float* x, int T, int C, const float* history, int K, const float* w,
                            const float* bias, float* out) {
  const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= static_cast<long long>(T) * C) return;
  const int t = static_cast<int>(i / C), c = static_cast<int>(i % C);
  float acc = bias[c];
  for (int j = 0; j < K; ++j) {
    const int src = t - (K - 1) + j;  // < 0: from history row (K-1) + src
    const float v = src >= 0 ? x[static_cast<size_t>(src) * C + c]
                             : history[static_cast<size_t>(K - 1 + src) * C + c];
    acc = fmaf(w[static_cast<size_t>(c) * K + j], v, acc);
  }
  out[i] = detail::silu(acc);
}

// One thread per channel: shifts the window in registers, so history may be updated in place.
__global__ void history_kernel(const float* x, int T, int C, int K, float* history) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  const int H = K - 1;
  float win[16];
  for (int r = 0; r < H; ++r) {
    const int src = T + r;  // row in [history ; x] of the r-th kept row: (H + T) - H + r
    win[r] = src < H ? history[static_cast<size_t>(src) * C + c] : x[static_cast<size_t>(src - H) * C + c];
  }
  for (int r = 0; r < H; ++r) history[static_cast<size_t>(r) * C + c] = win[r];
}

}  // namespace

void causal_conv1d_silu(const float* x, int T, int C, const float* history, int K, const float* w,
                        const float* bias, float* out, cudaStream_t stream) {
  const long long n = static_cast<long long>(T) * C;
  if (n <= 0) return;
  conv_kernel<<<detail::blocks_for(n, 256), 256, 0, stream>>>(x, T, C, history, K, w, bias, out);
  check(cudaGetLastError(), "causal_conv1d_silu");
}

void conv1d_update_history(const float* x, int T, int C, int K, float* history, cudaStream_t stream) {
  if (K < 2 || C <= 0 || T <= 0) return;
  if (K - 1 > 16) check(cudaErrorInvalidValue, "conv1d_update_history: conv kernel > 17");
  history_kernel<<<detail::blocks_for(C, 256), 256, 0, stream>>>(x, T, C, K, history);
  check(cudaGetLastError(), "conv1d_update_history");
}

}  // namespace tt::cuda
