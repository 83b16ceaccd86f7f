// Token choice on the device: per row of logits, mask one id, log-softmax,
// greedy argmax or counter-based Gumbel-max, and the confidence p(token) from
// the unscaled probabilities. Only (token, confidence) pairs leave the GPU,
// never full logits. Same semantics as model/decoding.cpp over the CPU
// kernels of kernels/cpu/sampling.hpp (log_softmax, argmax, gumbel_argmax).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace tt::cuda {

// logits: [rows, vocab] fp32 (device). mask_id: an id whose logit counts as -inf (or -1).
// temperature <= 0: token = argmax of log-softmax (first on ties); else
// gumbel_argmax(row, temperature, seed, streams[r]) with the masked id excluded.
// tokens[r], confidence[r] = exp(logp[token]) (device outputs). streams: device, [rows]
// (may be null when temperature <= 0).
// confidence[r] is NaN when logp[token] is not finite: a NaN or +inf logit anywhere in the
// row (the log-sum-exp is NaN), or no finite logit to choose. The caller then throws, as
// model/decoding.cpp's check_finite_logit does on the CPU (which only looks at the chosen
// logit, so a NaN elsewhere in the row is an error here only).
void pick_tokens(const float* logits, int rows, int vocab, int mask_id, float temperature, uint64_t seed,
                 const uint64_t* streams, int32_t* tokens, float* confidence, cudaStream_t stream = nullptr);

// One refinement step of confidence unmasking for each of `blocks` blocks of S
// positions, on the device, from the pairs pick_tokens wrote for every row:
// tokens [blocks, S] (mask_id where not committed) in/out, step [blocks] in/out.
// Same rule as model/decoding.cpp diffusion_step: n = masked count (0: nothing
// happens); last step (step >= steps - 1) commits all, else
// k = min(n, max(max(1, #(conf > gamma)), ceil(n / (steps - step)))); the k most
// confident masked positions commit (ties: lower position); step += 1.
// committed[b] = k. S <= 64.
void commit_blocks(int32_t* tokens, const int32_t* pred, const float* conf, int blocks, int S, int mask_id,
                   int* step, int steps, float gamma, int* committed, cudaStream_t stream = nullptr);

}  // namespace tt::cuda
