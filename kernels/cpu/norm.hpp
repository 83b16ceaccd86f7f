// RMSNorm and the Mamba-2 gated group RMSNorm, fp32.
#pragma once

namespace tt::cpu {

// y[r, :] = x[r, :] * rsqrt(mean(x[r, :]^2) + eps) * w   (in-place allowed).
void rms_norm(const float* x, const float* w, float* y, int rows, int dim, float eps);

// Mamba-2 MambaRMSNormGated with norm_before_gate = false:
// v = y * silu(z); each contiguous group of group_size channels of v is
// normalised by its own rms; out = normalised * w. Rows are [rows, dim];
// group_size divides dim; out may alias y or z.
void gated_group_rms_norm(const float* y, const float* z, const float* w, float* out,
                          int rows, int dim, int group_size, float eps);

}  // namespace tt::cpu
