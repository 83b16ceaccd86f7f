// CUDA Mamba-2 selective scan, fp32 state: the signatures and semantics of
// kernels/cpu/ssm_scan.hpp with device pointers and a stream.
//  * ssm_scan_recurrent: the exact per-token recurrence; T = 1 is the
//    single-step decode update. One warp per (head, head_dim row), the state
//    row in registers (state <= 256).
//  * ssm_scan_chunked: chunk-parallel over T. Pass 1 scans every chunk from a
//    zero state (all chunks at once), pass 2 carries the states across chunk
//    boundaries from the initial state (S_c+1 = exp(A·Σdt_c)·S_c + local_c),
//    pass 3 reruns the recurrence inside every chunk from its true start
//    state to produce y. Equal to the recurrence up to rounding, from any
//    initial state. Needs chunks x heads x (head_dim x state + 1) fp32 of
//    scratch, allocated stream-ordered (cudaMallocAsync) per call. T / chunk
//    must not exceed 65535 (std::runtime_error).
#pragma once

#include <cuda_runtime_api.h>

namespace tt::cuda {

struct SsmShape {
  int n_heads = 0;
  int head_dim = 0;
  int n_groups = 0;
  int state = 0;  // N, at most 256
};

void ssm_scan_recurrent(const float* x, const float* dt_raw, const float* B, const float* C, int T,
                        const float* A_log, const float* D, const float* dt_bias, const SsmShape& shape,
                        float* ssm_state, float* y, cudaStream_t stream = nullptr);

void ssm_scan_chunked(const float* x, const float* dt_raw, const float* B, const float* C, int T,
                      const float* A_log, const float* D, const float* dt_bias, const SsmShape& shape,
                      float* ssm_state, float* y, int chunk, cudaStream_t stream = nullptr);

}  // namespace tt::cuda
