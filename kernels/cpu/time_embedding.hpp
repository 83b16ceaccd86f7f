// Timestep sinusoid of the denoiser's time conditioning and adaLN modulation.
#pragma once

namespace tt::cpu {

// out[0..dim/2) = cos(t_scaled * f_i), out[dim/2..dim) = sin(t_scaled * f_i),
// f_i = exp(-ln(10000) * i / (dim/2)); t_scaled = 1000 * t. dim is even.
void timestep_sinusoid(float t_scaled, int dim, float* out);

// y[r, :] = x[r, :] * (1 + scale) + shift   (in-place allowed).
void modulate(const float* x, const float* shift, const float* scale, float* y, int rows, int dim);

}  // namespace tt::cpu
