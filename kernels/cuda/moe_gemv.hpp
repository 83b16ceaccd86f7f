// Decode-shaped routed experts (internal to moe.cu): few rows per expert, so the
// weights are streamed once at full width instead of through 16-row tiles.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace tt::cuda::detail {

// Rows per expert the streaming kernel takes (moe_experts uses it when T <= this).
constexpr int kGemvMaxRows = 8;

// True when expert_gemv can run this shape: K a multiple of 8 (16-byte weight loads).
inline bool expert_gemv_fits(int K) { return K > 0 && K % 8 == 0; }

// For every expert e in active[0, *n_active) (n_active on the device, at most
// max_active): c[r, :] = a[r, :] · W_e[N, K]ᵀ for the rows r in [offsets[e],
// offsets[e+1]) (at most kGemvMaxRows of them), relu² applied when asked. Each
// output is one thread's fp32 fma chain over k = 0..K-1 in order: the same
// numbers as the tiled grouped GEMM of moe.cu and the CPU kernel.
void expert_gemv(const float* a, const uint16_t* w, const int* offsets, const int* active, const int* n_active,
                 int max_active, int N, int K, bool relu_squared, float* c, cudaStream_t stream);

}  // namespace tt::cuda::detail
