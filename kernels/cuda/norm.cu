// RMSNorm, gated group RMSNorm and modulation: one block per row (or row group).
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/device.hpp"
#include "kernels/cuda/norm.hpp"

namespace tt::cuda {
namespace {

constexpr int kThreads = 256;

__global__ void rms_norm_kernel(const float* x, const float* w, float* y, int dim, float eps) {
  const size_t off = static_cast<size_t>(blockIdx.x) * dim;
  float ss = 0.0f;
  for (int i = threadIdx.x; i < dim; i += blockDim.x) ss += x[off + i] * x[off + i];
  const float inv = rsqrtf(detail::block_sum(ss) / dim + eps);
  for (int i = threadIdx.x; i < dim; i += blockDim.x) y[off + i] = x[off + i] * inv * w[i];
}

// Block (row, group): v = y * silu(z) over the group, normalised by its rms, times w.
__global__ void gated_norm_kernel(const float* y, const float* z, const float* w, float* out, int dim,
                                  int group_size, float eps) {
  const size_t off = static_cast<size_t>(blockIdx.x) * dim + static_cast<size_t>(blockIdx.y) * group_size;
  const int w_off = blockIdx.y * group_size;
  float ss = 0.0f;
  for (int i = threadIdx.x; i < group_size; i += blockDim.x) {
    const float v = y[off + i] * detail::silu(z[off + i]);
    ss += v * v;
  }
  const float inv = rsqrtf(detail::block_sum(ss) / group_size + eps);
  for (int i = threadIdx.x; i < group_size; i += blockDim.x) {
    const float v = y[off + i] * detail::silu(z[off + i]);
    out[off + i] = v * inv * w[w_off + i];
  }
}

__global__ void modulate_kernel(const float* x, const float* shift, const float* scale, float* y,
                                long long n, int dim) {
  const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const int c = static_cast<int>(i % dim);
  y[i] = x[i] * (1.0f + scale[c]) + shift[c];
}

}  // namespace

void rms_norm(const float* x, const float* w, float* y, int rows, int dim, float eps, cudaStream_t stream) {
  if (rows <= 0 || dim <= 0) return;
  rms_norm_kernel<<<rows, kThreads, 0, stream>>>(x, w, y, dim, eps);
  check(cudaGetLastError(), "rms_norm");
}

void gated_group_rms_norm(const float* y, const float* z, const float* w, float* out, int rows, int dim,
                          int group_size, float eps, cudaStream_t stream) {
  if (rows <= 0 || dim <= 0) return;
  if (group_size <= 0 || dim % group_size != 0) check(cudaErrorInvalidValue, "gated_group_rms_norm: group_size");
  gated_norm_kernel<<<dim3(rows, dim / group_size), kThreads, 0, stream>>>(y, z, w, out, dim, group_size, eps);
  check(cudaGetLastError(), "gated_group_rms_norm");
}

void modulate(const float* x, const float* shift, const float* scale, float* y, int rows, int dim,
              cudaStream_t stream) {
  const long long n = static_cast<long long>(rows) * dim;
  if (n <= 0) return;
  modulate_kernel<<<detail::blocks_for(n, kThreads), kThreads, 0, stream>>>(x, shift, scale, y, n, dim);
  check(cudaGetLastError(), "modulate");
}

}  // namespace tt::cuda
