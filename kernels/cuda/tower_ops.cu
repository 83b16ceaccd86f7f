// Device ops of the tower loop: embedding lookup, residual add, row gather.
#include "kernels/cuda/tower_ops.hpp"

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/device.hpp"

namespace tt::cuda {
namespace {

__global__ void embed_kernel(const void* table, bool bf16, const int32_t* ids, int rows, int dim, float* out) {
  const long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (i >= static_cast<long long>(rows) * dim) return;
  const int r = static_cast<int>(i / dim), c = static_cast<int>(i % dim);
  const size_t src = static_cast<size_t>(ids[r]) * dim + c;
  out[i] = bf16 ? detail::bf16_bits_to_float(static_cast<const uint16_t*>(table)[src])
                : static_cast<const float*>(table)[src];
}

__global__ void residual_kernel(float* h, const float* m, const float* gate, int rows, int dim) {
  const long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (i >= static_cast<long long>(rows) * dim) return;
  h[i] += gate ? gate[i % dim] * m[i] : m[i];
}

__global__ void gather_kernel(const float* x, const int32_t* rows, int n, int dim, float* out) {
  const long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (i >= static_cast<long long>(n) * dim) return;
  const int r = static_cast<int>(i / dim), c = static_cast<int>(i % dim);
  out[i] = x[static_cast<size_t>(rows[r]) * dim + c];
}

constexpr int kThreads = 256;

}  // namespace

void embed_lookup(const void* table, bool bf16, const int32_t* ids, int rows, int dim, float* out,
                  cudaStream_t stream) {
  const long long n = static_cast<long long>(rows) * dim;
  if (n == 0) return;
  embed_kernel<<<detail::blocks_for(n, kThreads), kThreads, 0, stream>>>(table, bf16, ids, rows, dim, out);
  check(cudaGetLastError(), "embed_lookup");
}

void residual_add(float* h, const float* m, const float* gate, int rows, int dim, cudaStream_t stream) {
  const long long n = static_cast<long long>(rows) * dim;
  if (n == 0) return;
  residual_kernel<<<detail::blocks_for(n, kThreads), kThreads, 0, stream>>>(h, m, gate, rows, dim);
  check(cudaGetLastError(), "residual_add");
}

void gather_rows(const float* x, const int32_t* rows, int n, int dim, float* out, cudaStream_t stream) {
  const long long total = static_cast<long long>(n) * dim;
  if (total == 0) return;
  gather_kernel<<<detail::blocks_for(total, kThreads), kThreads, 0, stream>>>(x, rows, n, dim, out);
  check(cudaGetLastError(), "gather_rows");
}

}  // namespace tt::cuda
