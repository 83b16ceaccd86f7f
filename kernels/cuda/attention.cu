// Flash-style GQA attention: K/V tiles in shared memory, online softmax per warp.
#include <algorithm>
#include <cmath>

#include "kernels/cuda/attention.hpp"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/device.hpp"

namespace tt::cuda {
namespace {

constexpr int kTile = 32;
constexpr int kMaxDimPerLane = 8;  // head_dim <= 256

struct AttnArgs {
  const float *q, *k_ctx, *v_ctx, *k_new, *v_new;
  float* out;
  int n_q, n_ctx, n_heads, n_kv, hd;
  bool causal;
  float scale;
  int split_len;   // keys per split (blockIdx.z); all keys when gridDim.z == 1
  float* part_ml;  // splits > 1: [split][n_q][n_heads][2] (running max, sum)
  float* part_acc; // splits > 1: [split][n_q][n_heads][hd] unnormalised
};

__global__ void attention_kernel(AttnArgs a) {
  extern __shared__ float smem[];
  const int i = blockIdx.x, kvh = blockIdx.y;
  const int group = a.n_heads / a.n_kv;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int h = kvh * group + warp;
  const int kstride = a.hd + 1;  // padded: lanes read different keys of one column
  float* ks = smem;                      // [kTile][hd + 1]
  float* vs = ks + kTile * kstride;      // [kTile][hd]
  float* qs = vs + kTile * a.hd;         // [group][hd]
  const long long qd = static_cast<long long>(a.n_heads) * a.hd, kd = static_cast<long long>(a.n_kv) * a.hd;

  for (int d = lane; d < a.hd; d += 32) qs[warp * a.hd + d] = a.q[i * qd + static_cast<long long>(h) * a.hd + d];
  const int n_vis_all = a.n_ctx + (a.causal ? i + 1 : a.n_q);
  const int k_begin = blockIdx.z * a.split_len;
  const int n_vis = min(n_vis_all, k_begin + a.split_len);

  float m = -INFINITY, l = 0.0f, acc[kMaxDimPerLane];
#pragma unroll
  for (int j = 0; j < kMaxDimPerLane; ++j) acc[j] = 0.0f;

  for (int kt = k_begin; kt < n_vis; kt += kTile) {
    __syncthreads();  // previous tile consumed (and qs written on the first pass)
    for (int e = threadIdx.x; e < kTile * a.hd; e += blockDim.x) {
      const int r = e / a.hd, d = e % a.hd, key = kt + r;
      float kv = 0.0f, vv = 0.0f;
      if (key < n_vis) {
        const long long off = (key < a.n_ctx ? key : key - a.n_ctx) * kd + static_cast<long long>(kvh) * a.hd + d;
        kv = key < a.n_ctx ? a.k_ctx[off] : a.k_new[off];
        vv = key < a.n_ctx ? a.v_ctx[off] : a.v_new[off];
      }
      ks[r * kstride + d] = kv;
      vs[r * a.hd + d] = vv;
    }
    __syncthreads();
    // Lane j scores key kt + j.
    float s = -INFINITY;
    if (kt + lane < n_vis) {
      float dot = 0.0f;
      for (int d = 0; d < a.hd; ++d) dot = fmaf(qs[warp * a.hd + d], ks[lane * kstride + d], dot);
      s = dot * a.scale;
    }
    const float m_new = fmaxf(m, detail::warp_max(s));
    const float corr = m == -INFINITY ? 0.0f : expf(m - m_new);
    const float p = s == -INFINITY ? 0.0f : expf(s - m_new);
    l = l * corr + detail::warp_sum(p);
    m = m_new;
#pragma unroll
    for (int j = 0; j < kMaxDimPerLane; ++j) acc[j] *= corr;
    const int n_keys = min(kTile, n_vis - kt);
    for (int r = 0; r < n_keys; ++r) {
      const float pr = __shfl_sync(0xffffffffu, p, r);
#pragma unroll
      for (int j = 0; j < kMaxDimPerLane; ++j) {
        const int d = lane + 32 * j;
        if (d < a.hd) acc[j] = fmaf(pr, vs[r * a.hd + d], acc[j]);
      }
    }
  }
  if (gridDim.z > 1) {  // partial result of this key range; combine_kernel finishes
    const long long row = (static_cast<long long>(blockIdx.z) * a.n_q + i) * a.n_heads + h;
    if (lane == 0) a.part_ml[row * 2] = m, a.part_ml[row * 2 + 1] = l;
#pragma unroll
    for (int j = 0; j < kMaxDimPerLane; ++j) {
      const int d = lane + 32 * j;
      if (d < a.hd) a.part_acc[row * a.hd + d] = acc[j];
    }
    return;
  }
  const float inv = l > 0.0f ? 1.0f / l : 0.0f;
#pragma unroll
  for (int j = 0; j < kMaxDimPerLane; ++j) {
    const int d = lane + 32 * j;
    if (d < a.hd) a.out[i * qd + static_cast<long long>(h) * a.hd + d] = acc[j] * inv;
  }
}

// One thread per output element: merges the splits' (max, sum, acc) in split order.
__global__ void combine_kernel(AttnArgs a, int splits) {
  const long long n = static_cast<long long>(a.n_q) * a.n_heads * a.hd;
  const long long e = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= n) return;
  const long long row = e / a.hd;  // (query, head)
  const int d = static_cast<int>(e % a.hd);
  const long long stride = static_cast<long long>(a.n_q) * a.n_heads;
  float M = -INFINITY;
  for (int s = 0; s < splits; ++s) M = fmaxf(M, a.part_ml[(s * stride + row) * 2]);
  float L = 0.0f, acc = 0.0f;
  for (int s = 0; s < splits; ++s) {
    const float ms = a.part_ml[(s * stride + row) * 2];
    if (ms == -INFINITY) continue;  // this split saw no visible key
    const float f = expf(ms - M);
    L = fmaf(a.part_ml[(s * stride + row) * 2 + 1], f, L);
    acc = fmaf(a.part_acc[(s * stride + row) * a.hd + d], f, acc);
  }
  a.out[e] = L > 0.0f ? acc / L : 0.0f;
}

}  // namespace

void attention(const float* q, int n_q, const float* k_ctx, const float* v_ctx, int n_ctx, const float* k_new,
               const float* v_new, bool causal, const AttentionShape& s, float* out, cudaStream_t stream) {
  if (n_q <= 0) return;
  if (s.n_heads <= 0 || s.n_kv_heads <= 0 || s.n_heads % s.n_kv_heads != 0 || s.head_dim <= 0 ||
      s.head_dim > 32 * kMaxDimPerLane || s.n_heads / s.n_kv_heads > 32 || n_ctx < 0)
    check(cudaErrorInvalidValue, "attention: shape (head_dim <= 256, <= 32 heads per kv head)");
  const int group = s.n_heads / s.n_kv_heads;
  const size_t smem = sizeof(float) * (static_cast<size_t>(kTile) * (s.head_dim + 1) +
                                       static_cast<size_t>(kTile) * s.head_dim + static_cast<size_t>(group) * s.head_dim);
  if (smem > 48 * 1024)
    check(cudaFuncSetAttribute(attention_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)),
          "attention: shared memory");
  // Few (query, kv head) blocks over a long context (decode, a denoiser block):
  // split the keys so that about two blocks per SM run, then combine.
  const int max_keys = n_ctx + n_q;
  int sms = 0, dev = 0;
  check(cudaGetDevice(&dev), "attention: cudaGetDevice");
  check(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev), "attention: SM count");
  const long long blocks = static_cast<long long>(n_q) * s.n_kv_heads;
  int splits = static_cast<int>(std::min<long long>((2LL * sms + blocks - 1) / blocks, (max_keys + 255) / 256));
  splits = std::max(splits, 1);
  const int split_len = (max_keys + splits - 1) / splits;
  AttnArgs a{q, k_ctx, v_ctx, k_new, v_new, out, n_q, n_ctx, s.n_heads, s.n_kv_heads, s.head_dim, causal,
             1.0f / std::sqrt(static_cast<float>(s.head_dim)), split_len, nullptr, nullptr};
  if (splits == 1) {
    attention_kernel<<<dim3(n_q, s.n_kv_heads, 1), 32 * group, smem, stream>>>(a);
    check(cudaGetLastError(), "attention");
    return;
  }
  const long long rows = static_cast<long long>(splits) * n_q * s.n_heads;
  float* part = nullptr;
  check(cudaMallocAsync(reinterpret_cast<void**>(&part), sizeof(float) * rows * (2 + s.head_dim), stream),
        "attention: cudaMallocAsync");
  a.part_ml = part;
  a.part_acc = part + rows * 2;
  attention_kernel<<<dim3(n_q, s.n_kv_heads, splits), 32 * group, smem, stream>>>(a);
  const long long n = static_cast<long long>(n_q) * s.n_heads * s.head_dim;
  combine_kernel<<<detail::blocks_for(n, 256), 256, 0, stream>>>(a, splits);
  const cudaError_t e = cudaGetLastError();
  check(cudaFreeAsync(part, stream), "attention: cudaFreeAsync");
  check(e, "attention");
}

}  // namespace tt::cuda
