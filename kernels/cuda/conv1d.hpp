// CUDA causal depthwise conv1d + SiLU with history (Mamba-2 xBC): the
// signatures and semantics of kernels/cpu/conv1d.hpp, device pointers, fp32.
#pragma once

#include <cuda_runtime_api.h>

namespace tt::cuda {

void causal_conv1d_silu(const float* x, int T, int C, const float* history, int K, const float* w,
                        const float* bias, float* out, cudaStream_t stream = nullptr);

// new_history = last K-1 rows of [history ; x] (new_history may alias history).
void conv1d_update_history(const float* x, int T, int C, int K, float* history,
                           cudaStream_t stream = nullptr);

}  // namespace tt::cuda
