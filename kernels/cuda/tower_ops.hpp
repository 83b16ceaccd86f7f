// Small device ops of the tower loop (model/cuda/gpu_tower.cpp) that have no
// CPU kernel of their own because the CPU tower does them inline: embedding
// lookup, the (gated) residual add and row gathering. fp32 activations.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace tt::cuda {

// out[r, :] = table[ids[r], :] widened to fp32; table bf16 (bf16 = true) or fp32, [vocab, dim].
// ids are device int32 and must be in range (the caller checks them on the host).
void embed_lookup(const void* table, bool bf16, const int32_t* ids, int rows, int dim, float* out,
                  cudaStream_t stream = nullptr);

// h[r, :] += gate[:] * m[r, :] (gate may be null: h += m), rows [0, rows).
void residual_add(float* h, const float* m, const float* gate, int rows, int dim, cudaStream_t stream = nullptr);

// out[i, :] = x[rows[i], :], i < n (rows: device int32).
void gather_rows(const float* x, const int32_t* rows, int n, int dim, float* out, cudaStream_t stream = nullptr);

}  // namespace tt::cuda
