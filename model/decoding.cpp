// Confidence unmasking and token choice.
#include "model/decoding.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "kernels/cpu/sampling.hpp"
#include "model/error.hpp"

namespace tt {

int BlockState::masked(int32_t mask_id) const {
  return static_cast<int>(std::count(tokens.begin(), tokens.end(), mask_id));
}

float BlockState::t(int32_t mask_id) const {
  return static_cast<float>(masked(mask_id)) / static_cast<float>(tokens.size());
}

BlockState new_block(int block_index, int block_size, int32_t mask_id) {
  BlockState b;
  b.block_index = block_index;
  b.tokens.assign(block_size, mask_id);
  return b;
}

uint64_t diffusion_stream(int block_index, int step, int position) {
  return (static_cast<uint64_t>(block_index) << 24) | (static_cast<uint64_t>(step) << 12) |
         static_cast<uint64_t>(position);
}

uint64_t ar_stream(int token_index) { return (1ull << 63) | static_cast<uint64_t>(token_index); }

void check_finite_logit(float value) {
  if (!std::isfinite(value))
    throw Error("the model produced non-finite logits (NaN or Inf): its weights, or the activations they "
                "produce, are not finite");
}

int32_t choose_token(std::span<const float> logits, float temperature, uint64_t seed, uint64_t stream) {
  const int V = static_cast<int>(logits.size());
  const int tok = temperature <= 0.0f ? cpu::argmax(logits.data(), V)
                                      : cpu::gumbel_argmax(logits.data(), V, temperature, seed, stream);
  check_finite_logit(logits[tok]);
  return tok;
}

void pick_block(std::span<const float> logits, int vocab, const BlockState& block, const DiffusionParams& params,
                int32_t mask_id, std::span<int32_t> pred, std::span<float> conf) {
  const int S = static_cast<int>(block.tokens.size());
  if (logits.size() != static_cast<size_t>(S) * vocab) throw Error("pick_block: logits shape mismatch");
  std::vector<float> row(vocab), logp(vocab);
  for (int p = 0; p < S; ++p) {
    if (block.tokens[p] != mask_id) continue;
    std::copy_n(&logits[static_cast<size_t>(p) * vocab], vocab, row.begin());
    row[mask_id] = -std::numeric_limits<float>::infinity();
    cpu::log_softmax(row.data(), vocab, logp.data());
    const int32_t tok = params.temperature <= 0.0f
                            ? cpu::argmax(logp.data(), vocab)
                            : cpu::gumbel_argmax(row.data(), vocab, params.temperature, params.seed,
                                                 diffusion_stream(block.block_index, block.step, p));
    check_finite_logit(logp[tok]);
    pred[p] = tok;
    conf[p] = std::exp(logp[tok]);
  }
}

int commit_confident(std::span<const int32_t> pred, std::span<const float> conf, BlockState& block,
                     const DiffusionParams& params, int32_t mask_id) {
  const int S = static_cast<int>(block.tokens.size());
  if (pred.size() != static_cast<size_t>(S) || conf.size() != static_cast<size_t>(S))
    throw Error("commit_confident: one (token, confidence) pair per block position is needed");
  std::vector<int> masked_pos;
  for (int p = 0; p < S; ++p)
    if (block.tokens[p] == mask_id) masked_pos.push_back(p);
  const int n = static_cast<int>(masked_pos.size());
  if (n == 0) return 0;
  int k;
  if (block.step >= params.steps - 1) {
    k = n;
  } else {
    int above = 0;
    for (int p : masked_pos) above += conf[p] > params.gamma;
    k = std::max(1, above);
    const int remaining = std::max(1, params.steps - block.step);
    const int floor_k = (n + remaining - 1) / remaining;
    k = std::min(n, std::max(k, floor_k));
  }
  // Most confident first; ties by lower position (stable on the position order).
  std::stable_sort(masked_pos.begin(), masked_pos.end(), [&](int a, int b) { return conf[a] > conf[b]; });
  for (int i = 0; i < k; ++i) block.tokens[masked_pos[i]] = pred[masked_pos[i]];
  ++block.step;
  return k;
}

int diffusion_step(std::span<const float> logits, int vocab, BlockState& block,
                   const DiffusionParams& params, int32_t mask_id) {
  const int S = static_cast<int>(block.tokens.size());
  std::vector<int32_t> pred(S, mask_id);
  std::vector<float> conf(S, std::numeric_limits<float>::infinity());
  pick_block(logits, vocab, block, params, mask_id, pred, conf);
  return commit_confident(pred, conf, block, params, mask_id);
}

}  // namespace tt
