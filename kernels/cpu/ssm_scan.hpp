// The Mamba-2 selective state-space scan, fp32.
// Per head h (group g = h / (n_heads / n_groups)), for t = 0..T-1:
//   dt_t  = softplus(dt_raw[t, h] + dt_bias[h])     (softplus(x) = x for x > 20)
//   A     = -exp(A_log[h])
//   S_t   = exp(dt_t * A) * S_{t-1} + dt_t * x_t[h, :] ⊗ B_t[g, :]      S: [head_dim, state]
//   y_t[h, p] = sum_n C_t[g, n] * S_t[p, n] + D[h] * x_t[h, p]
// ssm_scan_recurrent is the specification; ssm_scan_chunked computes the same
// with the chunked (SSD) formulation and must agree with it from any initial state
// (relative error <= 1e-5 of the largest |y| / |state|, tests/kernels/ssm_scan_test).
// On the CPU the recurrence is also the faster of the two (each head's state
// stays in L1); the chunked form is the reference for a GPU SSD kernel.
// Both split work over heads only: a head's result never depends on the thread
// count, and the recurrence run over T1 then T2 tokens equals one run over T1 + T2.
#pragma once

namespace tt::cpu {

struct SsmShape {
  int n_heads = 0;
  int head_dim = 0;
  int n_groups = 0;
  int state = 0;  // N
};

// x:  [T, n_heads * head_dim]      dt_raw: [T, n_heads]
// B, C: [T, n_groups * state]      A_log, D, dt_bias: [n_heads]
// ssm_state: [n_heads, head_dim, state], read as the initial state and
//            overwritten with the final state.
// y:  [T, n_heads * head_dim]
void ssm_scan_recurrent(const float* x, const float* dt_raw, const float* B, const float* C,
                        int T, const float* A_log, const float* D, const float* dt_bias,
                        const SsmShape& shape, float* ssm_state, float* y);

// chunk: tokens per chunk (clamped to [1, T]); results depend on it only by rounding.
void ssm_scan_chunked(const float* x, const float* dt_raw, const float* B, const float* C, int T,
                      const float* A_log, const float* D, const float* dt_bias,
                      const SsmShape& shape, float* ssm_state, float* y, int chunk);

}  // namespace tt::cpu
