// Log-softmax, argmax and counter-based Gumbel-max sampling.
#include "kernels/cpu/sampling.hpp"

#include <cmath>
#include <limits>

namespace tt::cpu {
namespace {

// Upper bound of counter_gumbel: u <= 1 - 2^-25 gives -log(-log(u)) ~= 17.33.
constexpr double kGumbelMax = 17.5;

}  // namespace

uint64_t mix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

double counter_uniform(uint64_t seed, uint64_t stream, uint64_t counter) {
  const uint64_t key = mix64(mix64(mix64(seed) ^ stream) ^ counter);
  return (static_cast<double>(key >> 40) + 0.5) / 16777216.0;  // 2^24
}

double counter_gumbel(uint64_t seed, uint64_t stream, uint64_t counter) {
  return -std::log(-std::log(counter_uniform(seed, stream, counter)));
}

void log_softmax(const float* x, int n, float* out) {
  if (n <= 0) return;
  float mx = x[0];
  for (int i = 1; i < n; ++i) mx = x[i] > mx ? x[i] : mx;
  if (mx == -std::numeric_limits<float>::infinity()) {
    // Nothing has mass; avoid (-inf) - (-inf) = NaN.
    for (int i = 0; i < n; ++i) out[i] = -std::numeric_limits<float>::infinity();
    return;
  }
  double sum = 0.0;
  for (int i = 0; i < n; ++i) sum += std::exp(static_cast<double>(x[i]) - mx);
  const double lse = static_cast<double>(mx) + std::log(sum);
  for (int i = 0; i < n; ++i) out[i] = static_cast<float>(static_cast<double>(x[i]) - lse);
}

int argmax(const float* x, int n) {
  if (n <= 0) return -1;
  int best = 0;
  for (int i = 1; i < n; ++i)
    if (x[i] > x[best]) best = i;
  return best;
}

int gumbel_argmax(const float* x, int n, float temperature, uint64_t seed, uint64_t stream) {
  if (temperature <= 0.0f) return argmax(x, n);
  const double t = static_cast<double>(temperature);
  int best = -1;
  double best_v = 0.0;
  for (int i = 0; i < n; ++i) {
    if (x[i] <= -1e30f) continue;
    const double scaled = static_cast<double>(x[i]) / t;
    // Skipping entries that cannot win even with the largest possible noise
    // saves the two logs and changes no result.
    if (best >= 0 && scaled + kGumbelMax < best_v) continue;
    const double v = scaled + counter_gumbel(seed, stream, static_cast<uint64_t>(i));
    if (best < 0 || v > best_v) {
      best = i;
      best_v = v;
    }
  }
  return best >= 0 ? best : argmax(x, n);
}

}  // namespace tt::cpu
