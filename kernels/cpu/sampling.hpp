// Logit post-processing: log-softmax, argmax, confidence, and Gumbel-max
// sampling driven by a counter-based RNG so that a draw depends only on
// (seed, stream, counter) -- never on batch composition or thread timing.
#pragma once

#include <cstdint>

namespace tt::cpu {

// splitmix64 finaliser.
uint64_t mix64(uint64_t z);

// Uniform in (0, 1): u = ((key >> 40) + 0.5) / 2^24 with
// key = mix64(mix64(mix64(seed) ^ stream) ^ counter).
double counter_uniform(uint64_t seed, uint64_t stream, uint64_t counter);

// Gumbel(0, 1) noise: -log(-log(u)) in double.
double counter_gumbel(uint64_t seed, uint64_t stream, uint64_t counter);

// out[i] = x[i] - logsumexp(x) (max-subtracted, fp32 accumulate in double).
// If every x is -inf, every out is -inf (instead of NaN). out may alias x.
void log_softmax(const float* x, int n, float* out);

// Index of the maximum (first on ties). Entries equal to -inf never win unless all are.
// Returns -1 when n <= 0.
int argmax(const float* x, int n);

// argmax_i (x[i] / temperature + gumbel(seed, stream, i)), computed in double;
// entries whose x is <= -1e30 are excluded (ties: first index). Falls back to
// argmax(x, n) when temperature <= 0 or every entry is excluded.
int gumbel_argmax(const float* x, int n, float temperature, uint64_t seed, uint64_t stream);

}  // namespace tt::cpu
