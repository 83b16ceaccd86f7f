// CUDA RMSNorm, Mamba-2 gated group RMSNorm and adaLN modulation: the
// signatures of kernels/cpu/norm.hpp and time_embedding.hpp (modulate) with
// device pointers and a stream. fp32 in and out, fp32 sums.
#pragma once

#include <cuda_runtime_api.h>

namespace tt::cuda {

void rms_norm(const float* x, const float* w, float* y, int rows, int dim, float eps,
              cudaStream_t stream = nullptr);

void gated_group_rms_norm(const float* y, const float* z, const float* w, float* out, int rows,
                          int dim, int group_size, float eps, cudaStream_t stream = nullptr);

// y[r, :] = x[r, :] * (1 + scale) + shift   (in-place allowed).
void modulate(const float* x, const float* shift, const float* scale, float* y, int rows, int dim,
              cudaStream_t stream = nullptr);

}  // namespace tt::cuda
