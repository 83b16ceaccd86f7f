// Timestep sinusoid and adaLN modulation of the denoiser's time conditioning.
#include "kernels/cpu/time_embedding.hpp"

#include <cmath>

namespace tt::cpu {

void timestep_sinusoid(float t_scaled, int dim, float* out) {
  const int half = dim / 2;
  // Mirrors the reference's fp32 ops: exp(-ln(10000) * i / half), then t * f.
  const float neg_log_base = static_cast<float>(-std::log(10000.0));
  for (int i = 0; i < half; ++i) {
    const float f = std::exp(neg_log_base * static_cast<float>(i) / static_cast<float>(half));
    const float arg = t_scaled * f;
    out[i] = std::cos(arg);
    out[half + i] = std::sin(arg);
  }
}

void modulate(const float* x, const float* shift, const float* scale, float* y, int rows, int dim) {
  for (int r = 0; r < rows; ++r) {
    const size_t off = static_cast<size_t>(r) * dim;
    for (int i = 0; i < dim; ++i) y[off + i] = x[off + i] * (1.0f + scale[i]) + shift[i];
  }
}

}  // namespace tt::cpu
