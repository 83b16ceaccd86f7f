// One block per row: max, sum of exp in double, log-probabilities, argmax or
// Gumbel-max with the splitmix64 counter RNG of kernels/cpu/sampling.cpp.
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/device.hpp"
#include "kernels/cuda/sampling.hpp"

namespace tt::cuda {
namespace {

constexpr int kThreads = 512;

__device__ uint64_t mix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

__device__ double counter_gumbel(uint64_t seed, uint64_t stream, uint64_t counter) {
  const uint64_t key = mix64(mix64(mix64(seed) ^ stream) ^ counter);
  const double u = (static_cast<double>(key >> 40) + 0.5) / 16777216.0;
  return -log(-log(u));
}

// Block-wide (value, index) max: larger value wins, equal values the lower index.
// Threads with idx < 0 hold nothing.
__device__ void block_argmax(double& v, int& idx) {
  __shared__ double sv[32];
  __shared__ int si[32];
  auto better = [](double a, int ia, double b, int ib) {
    if (ib < 0) return true;
    if (ia < 0) return false;
    return a > b || (a == b && ia < ib);
  };
  for (int o = 16; o > 0; o >>= 1) {
    const double ov = __shfl_xor_sync(0xffffffffu, v, o);
    const int oi = __shfl_xor_sync(0xffffffffu, idx, o);
    if (!better(v, idx, ov, oi)) v = ov, idx = oi;
  }
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();
  if (lane == 0) sv[warp] = v, si[warp] = idx;
  __syncthreads();
  if (warp == 0) {
    v = lane < static_cast<int>(blockDim.x >> 5) ? sv[lane] : 0.0;
    idx = lane < static_cast<int>(blockDim.x >> 5) ? si[lane] : -1;
    for (int o = 16; o > 0; o >>= 1) {
      const double ov = __shfl_xor_sync(0xffffffffu, v, o);
      const int oi = __shfl_xor_sync(0xffffffffu, idx, o);
      if (!better(v, idx, ov, oi)) v = ov, idx = oi;
    }
    if (lane == 0) sv[0] = v, si[0] = idx;
  }
  __syncthreads();
  v = sv[0], idx = si[0];
}

__device__ float block_max(float v) {
  __shared__ float s[32];
  v = detail::warp_max(v);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();
  if (lane == 0) s[warp] = v;
  __syncthreads();
  v = lane < static_cast<int>(blockDim.x >> 5) ? s[lane] : -INFINITY;
  return detail::warp_max(v);
}

__global__ void pick_kernel(const float* logits, int vocab, int mask_id, float temperature, uint64_t seed,
                            const uint64_t* streams, int32_t* tokens, float* confidence) {
  const int r = blockIdx.x;
  const float* x = logits + static_cast<long long>(r) * vocab;
  auto at = [&](int i) { return i == mask_id ? -INFINITY : x[i]; };
  float mx = -INFINITY;
  for (int i = threadIdx.x; i < vocab; i += blockDim.x) mx = fmaxf(mx, at(i));
  mx = block_max(mx);
  double lse = -INFINITY;
  if (mx != -INFINITY) {
    double sum = 0.0;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) sum += exp(static_cast<double>(at(i)) - mx);
    lse = static_cast<double>(mx) + log(detail::block_sum(sum));
  }
  auto logp = [&](int i) {
    return mx == -INFINITY ? -INFINITY : static_cast<float>(static_cast<double>(at(i)) - lse);
  };
  double best_v = 0.0;
  int best = -1;
  if (temperature <= 0.0f) {
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
      const double v = logp(i);
      if (best < 0 || v > best_v) best_v = v, best = i;
    }
  } else {
    const double t = temperature;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
      const float xi = at(i);
      if (xi <= -1e30f) continue;
      const double v = static_cast<double>(xi) / t + counter_gumbel(seed, streams[r], static_cast<uint64_t>(i));
      if (best < 0 || v > best_v) best_v = v, best = i;
    }
  }
  block_argmax(best_v, best);
  if (best < 0) {  // every entry excluded: argmax of the log-probabilities
    best_v = 0.0;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
      const double v = logp(i);
      if (best < 0 || v > best_v) best_v = v, best = i;
    }
    block_argmax(best_v, best);
  }
  if (threadIdx.x == 0) {
    if (best < 0) best = 0;
    tokens[r] = best;
    // NaN marks a log-probability that is not finite (see sampling.hpp): exp() would turn
    // -inf into 0, a confidence that looks valid.
    const float lp = logp(best);
    confidence[r] = isfinite(lp) ? expf(lp) : NAN;
  }
}

constexpr int kMaxBlock = 64;

// One thread per block: S is small (16), so a selection loop is cheapest.
__global__ void commit_kernel(int32_t* tokens, const int32_t* pred, const float* conf, int blocks, int S,
                              int mask_id, int* step, int steps, float gamma, int* committed) {
  const int b = blockIdx.x * blockDim.x + threadIdx.x;
  if (b >= blocks) return;
  int32_t* tok = tokens + static_cast<long long>(b) * S;
  const int32_t* pr = pred + static_cast<long long>(b) * S;
  const float* cf = conf + static_cast<long long>(b) * S;
  bool open[kMaxBlock];
  int n = 0, above = 0;
  for (int p = 0; p < S; ++p) {
    open[p] = tok[p] == mask_id;
    n += open[p];
    above += open[p] && cf[p] > gamma;
  }
  if (n == 0) {
    committed[b] = 0;
    return;
  }
  int k = n;
  if (step[b] < steps - 1) {
    const int remaining = max(1, steps - step[b]);
    k = min(n, max(max(1, above), (n + remaining - 1) / remaining));
  }
  for (int c = 0; c < k; ++c) {
    int best = -1;
    for (int p = 0; p < S; ++p)
      if (open[p] && (best < 0 || cf[p] > cf[best])) best = p;
    open[best] = false;
    tok[best] = pr[best];
  }
  step[b] += 1;
  committed[b] = k;
}

}  // namespace

void commit_blocks(int32_t* tokens, const int32_t* pred, const float* conf, int blocks, int S, int mask_id,
                   int* step, int steps, float gamma, int* committed, cudaStream_t stream) {
  if (blocks <= 0) return;
  if (S <= 0 || S > kMaxBlock) check(cudaErrorInvalidValue, "commit_blocks: block size must be 1..64");
  commit_kernel<<<detail::blocks_for(blocks, 128), 128, 0, stream>>>(tokens, pred, conf, blocks, S, mask_id, step,
                                                                     steps, gamma, committed);
  check(cudaGetLastError(), "commit_blocks");
}

void pick_tokens(const float* logits, int rows, int vocab, int mask_id, float temperature, uint64_t seed,
                 const uint64_t* streams, int32_t* tokens, float* confidence, cudaStream_t stream) {
  if (rows <= 0) return;
  if (vocab <= 0 || (temperature > 0.0f && streams == nullptr))
    check(cudaErrorInvalidValue, "pick_tokens: vocab or streams");
  pick_kernel<<<rows, kThreads, 0, stream>>>(logits, vocab, mask_id, temperature, seed, streams, tokens, confidence);
  check(cudaGetLastError(), "pick_tokens");
}

}  // namespace tt::cuda
