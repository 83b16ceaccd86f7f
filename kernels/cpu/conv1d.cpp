// Causal depthwise conv1d + SiLU over [history ; x] (Mamba-2 xBC conv).
#include "kernels/cpu/conv1d.hpp"

#include <cmath>
#include <cstring>
#include <vector>

namespace tt::cpu {

void causal_conv1d_silu(const float* x, int T, int C, const float* history, int K, const float* w,
                        const float* bias, float* out) {
  // Tap-major weights so the channel loop is contiguous.
  std::vector<float> wt(static_cast<size_t>(K) * C);
  for (int c = 0; c < C; ++c)
    for (int j = 0; j < K; ++j)
      wt[static_cast<size_t>(j) * C + c] = w[static_cast<size_t>(c) * K + j];

  for (int t = 0; t < T; ++t) {
    float* o = out + static_cast<size_t>(t) * C;
    for (int c = 0; c < C; ++c) o[c] = bias[c];
    // Taps oldest to newest: the same order for every t, whatever T or the history split.
    for (int j = 0; j < K; ++j) {
      const int src = t - (K - 1) + j;  // < 0: from history (row K-1+src)
      const float* in = src < 0 ? history + static_cast<size_t>(K - 1 + src) * C
                                : x + static_cast<size_t>(src) * C;
      const float* wj = wt.data() + static_cast<size_t>(j) * C;
      for (int c = 0; c < C; ++c) o[c] += wj[c] * in[c];
    }
    for (int c = 0; c < C; ++c) o[c] = o[c] / (1.0f + std::exp(-o[c]));
  }
}

void conv1d_update_history(const float* x, int T, int C, int K, float* history) {
  const int H = K - 1;
  if (H <= 0 || T <= 0) return;
  const size_t row = static_cast<size_t>(C) * sizeof(float);
  if (T >= H) {
    std::memmove(history, x + static_cast<size_t>(T - H) * C, H * row);
    return;
  }
  // Keep the newest H - T history rows, then append all of x.
  std::memmove(history, history + static_cast<size_t>(T) * C, (H - T) * row);
  std::memmove(history + static_cast<size_t>(H - T) * C, x, T * row);
}

}  // namespace tt::cpu
