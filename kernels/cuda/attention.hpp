// CUDA grouped-query attention without positional encoding: the signature and
// semantics of kernels/cpu/attention.hpp (fp32 q/K/V, ctx + new segments,
// causal or not) with device pointers and a stream. Covers causal prefill
// (n_ctx = 0), cached extension and the denoiser's block over
// [context K/V ; block K/V] (causal = false).
//
// One block per (query, kv head): the group's query heads (one warp each)
// share K/V tiles of 32 keys in shared memory; online softmax in fp32, so no
// score matrix is stored. Keys are visited in position order for every query,
// but the sums differ from the CPU's order: parity is to fp32 rounding.
// head_dim <= 256; heads per kv head <= 32.
#pragma once

#include <cuda_runtime_api.h>

namespace tt::cuda {

struct AttentionShape {
  int n_heads = 0;
  int n_kv_heads = 0;
  int head_dim = 0;
};

void attention(const float* q, int n_q, const float* k_ctx, const float* v_ctx, int n_ctx,
               const float* k_new, const float* v_new, bool causal, const AttentionShape& shape,
               float* out, cudaStream_t stream = nullptr);

}  // namespace tt::cuda
