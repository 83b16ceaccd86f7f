// Streaming expert GEMV: each block owns kCols weight rows (output columns) of
// one active expert and walks K in tiles of kK. A tile (kCols x kK bf16, 16 KB)
// is fetched with 16-byte loads into registers one tile ahead, so two tiles per
// block are in flight, then transposed through shared memory so that thread j
// runs column j's fma chain in k order (the reduction order of every other
// path: results do not depend on which kernel ran).
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/device.hpp"
#include "kernels/cuda/moe_gemv.hpp"

namespace tt::cuda::detail {
namespace {

constexpr int kCols = 64;                              // threads per block, one output column each
constexpr int kK = 128;                                // k per tile
constexpr int kVecPerRow = kK / 8;                     // uint4 (8 bf16) per column per tile
constexpr int kVecPerThread = kVecPerRow;              // kCols x kVecPerRow vectors over kCols threads
// 16 bytes of padding per row: a quarter-warp's 16-byte reads of 8 consecutive
// columns (row stride 272 B = 68 words) then cover 8 disjoint groups of 4 banks.
constexpr int kPad = 8;

template <bool kReluSquared>
__global__ void __launch_bounds__(kCols) expert_gemv_kernel(const float* a, const uint16_t* w, const int* offsets,
                                                            const int* active, const int* n_active, int N, int K,
                                                            float* c) {
  __shared__ __align__(16) uint16_t ws[kCols][kK + kPad];
  __shared__ float xs[kGemvMaxRows][kK];
  if (static_cast<int>(blockIdx.y) >= *n_active) return;
  const int e = active[blockIdx.y];
  const int row0 = offsets[e], rows = offsets[e + 1] - row0;
  const int col0 = blockIdx.x * kCols, t = threadIdx.x;
  const uint16_t* we = w + (static_cast<long long>(e) * N + col0) * K;
  const int cols = min(kCols, N - col0);

  // Thread t fetches vectors i = t + kCols * j: column i / kVecPerRow, part i % kVecPerRow.
  uint4 next[kVecPerThread];
  auto fetch = [&](int k0) {
#pragma unroll
    for (int j = 0; j < kVecPerThread; ++j) {
      const int i = t + kCols * j, col = i / kVecPerRow, k = k0 + (i % kVecPerRow) * 8;
      next[j] = (col < cols && k < K) ? *reinterpret_cast<const uint4*>(we + static_cast<long long>(col) * K + k)
                                      : make_uint4(0, 0, 0, 0);
    }
  };
  float acc[kGemvMaxRows];
#pragma unroll
  for (int r = 0; r < kGemvMaxRows; ++r) acc[r] = 0.0f;
  fetch(0);
  for (int k0 = 0; k0 < K; k0 += kK) {
    __syncthreads();  // the previous tile is consumed
#pragma unroll
    for (int j = 0; j < kVecPerThread; ++j) {
      const int i = t + kCols * j;
      *reinterpret_cast<uint4*>(&ws[i / kVecPerRow][(i % kVecPerRow) * 8]) = next[j];
    }
    const int kn = min(kK, K - k0);
    for (int i = t; i < rows * kK; i += kCols) {
      const int r = i / kK, k = i % kK;
      xs[r][k] = k < kn ? a[static_cast<long long>(row0 + r) * K + k0 + k] : 0.0f;
    }
    __syncthreads();
    if (k0 + kK < K) fetch(k0 + kK);  // the next tile's loads overlap this tile's arithmetic
    for (int k8 = 0; k8 < kn; k8 += 8) {  // kn is a multiple of 8
      const uint4 packed = *reinterpret_cast<const uint4*>(&ws[t][k8]);
      const uint16_t* v = reinterpret_cast<const uint16_t*>(&packed);
#pragma unroll
      for (int q = 0; q < 8; ++q) {
        const float wv = bf16_bits_to_float(v[q]);
#pragma unroll
        for (int r = 0; r < kGemvMaxRows; ++r)
          if (r < rows) acc[r] = fmaf(xs[r][k8 + q], wv, acc[r]);
      }
    }
  }
  if (t >= cols) return;
#pragma unroll
  for (int r = 0; r < kGemvMaxRows; ++r) {
    if (r >= rows) break;
    float v = acc[r];
    if (kReluSquared) v = v > 0.0f ? v * v : 0.0f;
    c[static_cast<long long>(row0 + r) * N + col0 + t] = v;
  }
}

}  // namespace

void expert_gemv(const float* a, const uint16_t* w, const int* offsets, const int* active, const int* n_active,
                 int max_active, int N, int K, bool relu_squared, float* c, cudaStream_t stream) {
  if (max_active <= 0 || N <= 0) return;
  if (!expert_gemv_fits(K)) check(cudaErrorInvalidValue, "expert_gemv: K must be a positive multiple of 8");
  const dim3 grid((N + kCols - 1) / kCols, static_cast<unsigned>(max_active));
  if (relu_squared)
    expert_gemv_kernel<true><<<grid, kCols, 0, stream>>>(a, w, offsets, active, n_active, N, K, c);
  else
    expert_gemv_kernel<false><<<grid, kCols, 0, stream>>>(a, w, offsets, active, n_active, N, K, c);
  check(cudaGetLastError(), "expert_gemv");
}

}  // namespace tt::cuda::detail
