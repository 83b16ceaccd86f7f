// RMSNorm and the Mamba-2 gated group RMSNorm (fp32 reference kernels).
#include "kernels/cpu/norm.hpp"

#include <cmath>

namespace tt::cpu {
namespace {

// Partial sums in kLanes independent lanes, combined pairwise at the end: a
// fixed reduction order that the compiler can vectorise without reassociating.
constexpr int kLanes = 16;

float sum_squares(const float* x, int n) {
  float acc[kLanes] = {};
  int i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] += x[i + l] * x[i + l];
  for (int l = 0; i + l < n; ++l) acc[l] += x[i + l] * x[i + l];
  for (int w = kLanes / 2; w >= 1; w /= 2)
    for (int l = 0; l < w; ++l) acc[l] += acc[l + w];
  return acc[0];
}

float silu(float v) { return v / (1.0f + std::exp(-v)); }

// v[0..n) *= rsqrt(mean(v^2) + eps) * w, in that order (x·rsqrt first, then ·w).
void normalize_in_place(float* v, const float* w, int n, float eps) {
  const float inv = 1.0f / std::sqrt(sum_squares(v, n) / static_cast<float>(n) + eps);
  for (int i = 0; i < n; ++i) v[i] = (v[i] * inv) * w[i];
}

}  // namespace

void rms_norm(const float* x, const float* w, float* y, int rows, int dim, float eps) {
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + static_cast<size_t>(r) * dim;
    float* yr = y + static_cast<size_t>(r) * dim;
    const float inv = 1.0f / std::sqrt(sum_squares(xr, dim) / static_cast<float>(dim) + eps);
    for (int i = 0; i < dim; ++i) yr[i] = (xr[i] * inv) * w[i];
  }
}

void gated_group_rms_norm(const float* y, const float* z, const float* w, float* out, int rows,
                          int dim, int group_size, float eps) {
  for (int r = 0; r < rows; ++r) {
    const size_t off = static_cast<size_t>(r) * dim;
    float* o = out + off;
    // Element-wise first, so out may alias y or z.
    for (int i = 0; i < dim; ++i) o[i] = y[off + i] * silu(z[off + i]);
    for (int g0 = 0; g0 < dim; g0 += group_size)
      normalize_in_place(o + g0, w + g0, group_size, eps);
  }
}

}  // namespace tt::cpu
