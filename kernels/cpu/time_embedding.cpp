// Timestep sinusoid and adaLN modulation of the denoiser's time conditioning.
#include "kernels/cpu/time_embedding.hpp"

#include <cmath>

namespace tt::cpu {

void timestep_sinusoid(float t_scaled, int dim, float* out) {
  const int half = dim / 2;
  // In double, rounded once at the end: at arguments near 1000 an fp32 argument is off by
  // ~6e-5, which moved the denoiser's logits by ~1e-5 relative against the reference.
  const double neg_log_base = -std::log(10000.0);
  for (int i = 0; i < half; ++i) {
    const double f = std::exp(neg_log_base * i / half);
    const double arg = static_cast<double>(t_scaled) * f;
    out[i] = static_cast<float>(std::cos(arg));
    out[half + i] = static_cast<float>(std::sin(arg));
  }
}

void modulate(const float* x, const float* shift, const float* scale, float* y, int rows, int dim) {
  for (int r = 0; r < rows; ++r) {
    const size_t off = static_cast<size_t>(r) * dim;
    for (int i = 0; i < dim; ++i) y[off + i] = x[off + i] * (1.0f + scale[i]) + shift[i];
  }
}

}  // namespace tt::cpu
