// NemotronH MoE router (sigmoid scores, biased top-k selection), in fp64.
#include "kernels/cpu/moe_router.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/thread_pool.hpp"

namespace tt::cpu {
namespace {

// fp64 dot product in kLanes independent lanes combined pairwise: a fixed
// order, independent of how many tokens are routed together.
constexpr int kLanes = 8;

double dot_f64(const float* a, const float* b, int n) {
  double acc[kLanes] = {};
  int i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l)
      acc[l] += static_cast<double>(a[i + l]) * static_cast<double>(b[i + l]);
  for (int l = 0; i + l < n; ++l)
    acc[l] += static_cast<double>(a[i + l]) * static_cast<double>(b[i + l]);
  for (int w = kLanes / 2; w >= 1; w /= 2)
    for (int l = 0; l < w; ++l) acc[l] += acc[l + w];
  return acc[0];
}

void route_token(const float* x, int H, const float* gate_w, const float* bias,
                 const RouterShape& shape, double* s, int* chosen, int* experts, float* weights) {
  const int E = shape.n_experts;
  const int k = shape.top_k;
  for (int e = 0; e < E; ++e) {
    const double logit = dot_f64(x, gate_w + static_cast<size_t>(e) * H, H);
    s[e] = 1.0 / (1.0 + std::exp(-logit));
  }
  // Top-k by s + bias, highest first; an equal score goes to the lower index.
  for (int r = 0; r < k; ++r) {
    int best = -1;
    double best_v = 0.0;
    for (int e = 0; e < E; ++e) {
      if (std::find(chosen, chosen + r, e) != chosen + r) continue;
      const double v = s[e] + static_cast<double>(bias[e]);
      if (best < 0 || v > best_v) {
        best = e;
        best_v = v;
      }
    }
    chosen[r] = best;
  }
  std::sort(chosen, chosen + k);
  double sum = 0.0;
  for (int r = 0; r < k; ++r) sum += s[chosen[r]];
  const double denom = shape.normalize ? sum + 1e-20 : 1.0;
  for (int r = 0; r < k; ++r) {
    experts[r] = chosen[r];
    weights[r] = static_cast<float>(s[chosen[r]] / denom * static_cast<double>(shape.scaling));
  }
}

}  // namespace

void moe_route(const float* x, int T, int H, const float* gate_w, const float* bias,
               const RouterShape& shape, int* experts, float* weights) {
  const int k = shape.top_k;
  ThreadPool::global().parallel_for(T, [&](int64_t begin, int64_t end) {
    std::vector<double> s(shape.n_experts);
    std::vector<int> chosen(k);
    for (int64_t t = begin; t < end; ++t)
      route_token(x + t * H, H, gate_w, bias, shape, s.data(), chosen.data(), experts + t * k,
                  weights + t * k);
  });
}

}  // namespace tt::cpu
