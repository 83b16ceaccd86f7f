// Decoding policies as pure functions of logits: confidence unmasking for a
// diffusion block (TWOTOWER.md "Decoding"), and token choice for AR/mock-AR.
// Randomness comes from the counter RNG, keyed by (seed, stream), so a
// sequence's tokens never depend on batch composition.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace tt {

struct DiffusionParams {
  float gamma = 0.8f;     // commit threshold, strict (conf > gamma), in (0, 1]
  int block_size = 16;    // S
  int steps = 16;         // T: refinement steps per block
  float temperature = 0;  // 0 = greedy argmax; > 0 = Gumbel-max on logits / T
  uint64_t seed = 0;
};

// One block being refined.
struct BlockState {
  int block_index = 0;
  int step = 0;                 // refinement steps done
  std::vector<int32_t> tokens;  // mask id where not yet committed
  int masked(int32_t mask_id) const;
  // Masked fraction t = masked / size (the block's own, never batch-averaged).
  float t(int32_t mask_id) const;
};

BlockState new_block(int block_index, int block_size, int32_t mask_id);

// RNG stream of a diffusion draw and of an AR draw.
uint64_t diffusion_stream(int block_index, int step, int position);
uint64_t ar_stream(int token_index);

// The denoiser's choice at every masked position of `block` from its logits
// ([block size, vocab]): pred = argmax of log-softmax with the mask id excluded
// (Gumbel-max with stream diffusion_stream(block, step, position) when the
// temperature is > 0), conf = p(pred) from the unscaled probabilities.
// Committed positions are left as they are in pred/conf.
void pick_block(std::span<const float> logits, int vocab, const BlockState& block, const DiffusionParams& params,
                int32_t mask_id, std::span<int32_t> pred, std::span<float> conf);

// The commit rule on per-position (token, confidence) pairs (entries at
// committed positions are ignored): what diffusion_step does after its picks,
// and what a GPU denoiser does with the pairs its device picked.
int commit_confident(std::span<const int32_t> pred, std::span<const float> conf, BlockState& block,
                     const DiffusionParams& params, int32_t mask_id);

// Applies one refinement step to `block` from the denoiser's logits for its
// positions ([block_size, vocab]); returns how many positions it committed.
// conf = softmax(logits with mask at -inf)[pred]; on the last step commit all;
// otherwise k = max(1, #(conf > gamma)), k = min(n, max(k, ceil(n / (T - step))));
// the k most confident masked positions commit (ties: lower position first).
int diffusion_step(std::span<const float> logits, int vocab, BlockState& block,
                   const DiffusionParams& params, int32_t mask_id);

// Throws tt::Error when a chosen logit (or log-probability) is NaN or Inf: a
// checkpoint with non-finite weights fails loudly instead of emitting garbage.
void check_finite_logit(float value);

// Greedy argmax (temperature <= 0) or Gumbel-max on logits / temperature.
// Throws tt::Error when the chosen logit is not finite.
int32_t choose_token(std::span<const float> logits, float temperature, uint64_t seed, uint64_t stream);

}  // namespace tt
