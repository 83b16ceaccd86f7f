// MoE router (fp64, one block per token) and grouped expert GEMM (decode shapes: moe_gemv.cu).
#include <algorithm>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/device.hpp"
#include "kernels/cuda/moe.hpp"
#include "kernels/cuda/moe_gemv.hpp"

namespace tt::cuda {
namespace {

constexpr int kMaxExperts = 1024;
constexpr int kMaxTopK = 32;

__global__ void route_kernel(const float* x, int H, const float* gate_w, const float* bias, RouterShape s,
                             int* experts, float* weights) {
  __shared__ double score[kMaxExperts];
  const int t = blockIdx.x, warp = threadIdx.x >> 5, lane = threadIdx.x & 31, warps = blockDim.x >> 5;
  const float* xt = x + static_cast<long long>(t) * H;
  for (int e = warp; e < s.n_experts; e += warps) {
    const float* we = gate_w + static_cast<long long>(e) * H;
    double acc = 0.0;
    for (int i = lane; i < H; i += 32) acc += static_cast<double>(xt[i]) * static_cast<double>(we[i]);
    acc = detail::warp_sum(acc);
    if (lane == 0) score[e] = 1.0 / (1.0 + exp(-acc));
  }
  __syncthreads();
  if (threadIdx.x != 0) return;
  int chosen[kMaxTopK];
  for (int r = 0; r < s.top_k; ++r) {
    int best = -1;
    double best_v = 0.0;
    for (int e = 0; e < s.n_experts; ++e) {
      bool taken = false;
      for (int q = 0; q < r; ++q) taken |= chosen[q] == e;
      if (taken) continue;
      const double v = score[e] + static_cast<double>(bias[e]);
      if (best < 0 || v > best_v) best = e, best_v = v;
    }
    chosen[r] = best;
  }
  for (int r = 1; r < s.top_k; ++r)  // insertion sort, ascending expert
    for (int q = r; q > 0 && chosen[q - 1] > chosen[q]; --q) {
      const int tmp = chosen[q];
      chosen[q] = chosen[q - 1], chosen[q - 1] = tmp;
    }
  double sum = 0.0;
  for (int r = 0; r < s.top_k; ++r) sum += score[chosen[r]];
  const double denom = s.normalize ? sum + 1e-20 : 1.0;
  for (int r = 0; r < s.top_k; ++r) {
    experts[t * s.top_k + r] = chosen[r];
    weights[t * s.top_k + r] = static_cast<float>(score[chosen[r]] / denom * static_cast<double>(s.scaling));
  }
}

// One block, one thread per expert: counts, offsets, then a stable scatter
// (perm[row] = assignment index, inv[assignment] = row).
// Also lists the experts that got rows, ascending: active[0, *n_active).
__global__ void sort_kernel(const int* experts, int n, int E, int* offsets, int* perm, int* inv, int* active,
                            int* n_active) {
  __shared__ int count[kMaxExperts + 1];
  for (int e = threadIdx.x; e < E; e += blockDim.x) {
    int c = 0;
    for (int i = 0; i < n; ++i) c += experts[i] == e;
    count[e] = c;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    int run = 0, used = 0;
    for (int e = 0; e < E; ++e) {
      const int c = count[e];
      count[e] = run;
      offsets[e] = run;
      run += c;
      if (c > 0) active[used++] = e;
    }
    offsets[E] = run;
    *n_active = used;
  }
  __syncthreads();
  for (int e = threadIdx.x; e < E; e += blockDim.x) {
    int pos = count[e];
    for (int i = 0; i < n; ++i)
      if (experts[i] == e) perm[pos] = i, inv[i] = pos++;
  }
}

__global__ void gather_kernel(const float* x, int H, int top_k, const int* perm, long long n, float* xs) {
  const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const long long r = i / H, c = i % H;
  xs[i] = x[static_cast<long long>(perm[r] / top_k) * H + c];
}

// Grouped GEMM: for expert e = blockIdx.z, rows [offsets[e], offsets[e+1]) of a
// (ld = K) times W_e[N, K]ᵀ (bf16) into c (ld = N). Tile 16 rows x 64 columns,
// k steps of 32 through shared memory; 256 threads, 4 outputs each.
constexpr int kTm = 16, kTn = 64, kTk = 32;

template <bool kReluSquared>
__global__ void grouped_gemm_kernel(const float* a, const uint16_t* w, const int* offsets, int N, int K, float* c) {
  __shared__ float as[kTm][kTk + 1];
  __shared__ float ws[kTn][kTk + 1];
  const int e = blockIdx.z;
  const int row0 = offsets[e] + blockIdx.y * kTm, row_end = offsets[e + 1];
  if (row0 >= row_end) return;
  const int col0 = blockIdx.x * kTn;
  const uint16_t* we = w + static_cast<long long>(e) * N * K;
  const int tr = threadIdx.x / 16, tc = threadIdx.x % 16;
  float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  for (int k0 = 0; k0 < K; k0 += kTk) {
    for (int i = threadIdx.x; i < kTm * kTk; i += blockDim.x) {
      const int r = i / kTk, kk = i % kTk, row = row0 + r, k = k0 + kk;
      as[r][kk] = (row < row_end && k < K) ? a[static_cast<long long>(row) * K + k] : 0.0f;
    }
    for (int i = threadIdx.x; i < kTn * kTk; i += blockDim.x) {
      const int n = i / kTk, kk = i % kTk, col = col0 + n, k = k0 + kk;
      ws[n][kk] = (col < N && k < K) ? detail::bf16_bits_to_float(we[static_cast<long long>(col) * K + k]) : 0.0f;
    }
    __syncthreads();
#pragma unroll 8
    for (int kk = 0; kk < kTk; ++kk) {
      const float av = as[tr][kk];
#pragma unroll
      for (int j = 0; j < 4; ++j) acc[j] = fmaf(av, ws[tc + 16 * j][kk], acc[j]);
    }
    __syncthreads();
  }
  const int row = row0 + tr;
  if (row >= row_end) return;
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    const int col = col0 + tc + 16 * j;
    if (col >= N) continue;
    float v = acc[j];
    if (kReluSquared) v = v > 0.0f ? v * v : 0.0f;
    c[static_cast<long long>(row) * N + col] = v;
  }
}

__global__ void combine_kernel(const float* ys, const int* inv, const float* weights, int top_k, int H, long long n,
                               float* out) {
  const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const long long t = i / H, col = i % H;
  float acc = 0.0f;
  for (int j = 0; j < top_k; ++j)
    acc = fmaf(weights[t * top_k + j], ys[static_cast<long long>(inv[t * top_k + j]) * H + col], acc);
  out[i] = acc;
}

__global__ void relu_squared_kernel(float* x, long long n) {
  const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const float r = x[i] > 0.0f ? x[i] : 0.0f;
  x[i] = r * r;
}

}  // namespace

void relu_squared(float* x, long long n, cudaStream_t stream) {
  if (n <= 0) return;
  relu_squared_kernel<<<detail::blocks_for(n, 256), 256, 0, stream>>>(x, n);
  check(cudaGetLastError(), "relu_squared");
}

void moe_route(const float* x, int T, int H, const float* gate_w, const float* bias, const RouterShape& s,
               int* experts, float* weights, cudaStream_t stream) {
  if (T <= 0) return;
  if (s.n_experts <= 0 || s.n_experts > kMaxExperts || s.top_k <= 0 || s.top_k > kMaxTopK || s.top_k > s.n_experts)
    check(cudaErrorInvalidValue, "moe_route: shape (experts <= 1024, top_k <= 32)");
  route_kernel<<<T, 256, 0, stream>>>(x, H, gate_w, bias, s, experts, weights);
  check(cudaGetLastError(), "moe_route");
}

void moe_experts(const float* x, int T, int H, const int* experts, const float* weights, int top_k,
                 const ExpertWeights& w, float* out, cudaStream_t stream) {
  if (T <= 0) return;
  const int E = w.n_experts, I = w.inter;
  if (E <= 0 || E > kMaxExperts || top_k <= 0 || top_k > E || I <= 0)
    check(cudaErrorInvalidValue, "moe_experts: shape");
  // Each token picks distinct experts, so no expert has more than T rows: ceil(T / kTm)
  // row tiles, in gridDim.y (<= 65535).
  const unsigned row_tiles = static_cast<unsigned>((T + kTm - 1) / kTm);
  if (row_tiles > 65535) check(cudaErrorInvalidValue, "moe_experts: more than 1,048,560 tokens");
  const long long R = static_cast<long long>(T) * top_k;
  // Scratch: offsets[E + 1], perm[R], inv[R], active[E], n_active (ints); xs[R, H], mid[R, I], ys[R, H] (floats).
  const size_t ints = static_cast<size_t>(2 * E + 2 + 2 * R), floats = static_cast<size_t>(R * (2 * H + I));
  char* scratch = nullptr;
  const size_t int_bytes = (ints * sizeof(int) + 255) / 256 * 256;
  check(cudaMallocAsync(reinterpret_cast<void**>(&scratch), int_bytes + floats * sizeof(float), stream),
        "moe_experts: cudaMallocAsync");
  int* offsets = reinterpret_cast<int*>(scratch);
  int* perm = offsets + E + 1;
  int* inv = perm + R;
  int* active = inv + R;
  int* n_active = active + E;
  float* xs = reinterpret_cast<float*>(scratch + int_bytes);
  float* mid = xs + R * H;
  float* ys = mid + R * I;

  sort_kernel<<<1, 1024 < E ? 1024 : ((E + 31) / 32) * 32, 0, stream>>>(experts, static_cast<int>(R), E, offsets,
                                                                        perm, inv, active, n_active);
  gather_kernel<<<detail::blocks_for(R * H, 256), 256, 0, stream>>>(x, H, top_k, perm, R * H, xs);
  if (T <= detail::kGemvMaxRows && detail::expert_gemv_fits(H) && detail::expert_gemv_fits(I)) {
    // Decode shapes (<= 8 rows per expert): stream each active expert's weights once,
    // same fma order as the tiled kernel, so the numbers do not depend on T.
    const int max_active = static_cast<int>(std::min<long long>(E, R));
    detail::expert_gemv(xs, w.up, offsets, active, n_active, max_active, I, H, true, mid, stream);
    detail::expert_gemv(mid, w.down, offsets, active, n_active, max_active, H, I, false, ys, stream);
  } else {
    grouped_gemm_kernel<true><<<dim3((I + kTn - 1) / kTn, row_tiles, E), 256, 0, stream>>>(xs, w.up, offsets, I, H,
                                                                                          mid);
    grouped_gemm_kernel<false><<<dim3((H + kTn - 1) / kTn, row_tiles, E), 256, 0, stream>>>(mid, w.down, offsets,
                                                                                           H, I, ys);
  }
  combine_kernel<<<detail::blocks_for(static_cast<long long>(T) * H, 256), 256, 0, stream>>>(
      ys, inv, weights, top_k, H, static_cast<long long>(T) * H, out);
  const cudaError_t e = cudaGetLastError();
  check(cudaFreeAsync(scratch, stream), "moe_experts: cudaFreeAsync");
  check(e, "moe_experts");
}

}  // namespace tt::cuda
