// Flash-style GQA attention: K/V tiles in shared memory, online softmax per warp.
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
  const int n_vis = a.n_ctx + (a.causal ? i + 1 : a.n_q);

  float m = -INFINITY, l = 0.0f, acc[kMaxDimPerLane];
#pragma unroll
  for (int j = 0; j < kMaxDimPerLane; ++j) acc[j] = 0.0f;

  for (int kt = 0; kt < n_vis; kt += kTile) {
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
  const float inv = l > 0.0f ? 1.0f / l : 0.0f;
#pragma unroll
  for (int j = 0; j < kMaxDimPerLane; ++j) {
    const int d = lane + 32 * j;
    if (d < a.hd) a.out[i * qd + static_cast<long long>(h) * a.hd + d] = acc[j] * inv;
  }
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
  const AttnArgs a{q, k_ctx, v_ctx, k_new, v_new, out, n_q, n_ctx, s.n_heads, s.n_kv_heads, s.head_dim, causal,
                   1.0f / std::sqrt(static_cast<float>(s.head_dim))};
  attention_kernel<<<dim3(n_q, s.n_kv_heads), 32 * group, smem, stream>>>(a);
  check(cudaGetLastError(), "attention");
}

}  // namespace tt::cuda
