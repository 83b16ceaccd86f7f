// Context <-> denoiser: one block to refine, its committed tokens, and the end
// of a lease. A block is a pure function of (handle, params, seed), so a block
// lost with a denoiser is re-sent elsewhere and yields the same tokens.
#pragma once

#include <cstdint>
#include <string>

#include <caf/meta/type_name.hpp>

#include "messages/bytes.hpp"
#include "messages/cache_handle.hpp"

namespace tt::msg {

// What a denoiser is asked to do; wire values are fixed (new kinds are appended).
enum class job_kind : uint8_t {
  diffusion_block = 0,  // refine a masked block (time-conditioned)
  next_token = 1,       // mock-AR: predict one token from the state before the last one
};

std::string to_string(job_kind k);
bool is_known(job_kind k);

// Context -> denoiser: refine one block of one sequence, conditioned on the
// context cache the handle names.
struct denoise_block {
  uint64_t job_id = 0;       // the context actor's id of this block job (unique per context)
  cache_handle handle;       // the snapshot at the block boundary (epoch = tokens before the block)
  uint32_t block_index = 0;  // blocks since the prompt; with seed and step it picks the RNG stream
  float gamma = 0;           // commit threshold, conf > gamma, in (0, 1]
  int32_t block_size = 0;    // tokens in the block (S)
  int32_t steps = 0;         // refinement steps at most (T)
  float temperature = 0;     // 0 = greedy; > 0 = sample from logits / temperature
  uint64_t seed = 0;         // the request's seed
  bytes initial_tokens;      // int32: the block before refinement (mask ids, or the one token for mock-AR)
  bool time_conditioning = false;  // feed the block's own masked fraction t to the denoiser
  job_kind kind = job_kind::diffusion_block;  // since protocol 2
  uint32_t token_index = 0;  // next_token: index of the token to draw (its RNG stream); since protocol 2

  friend bool operator==(const denoise_block&, const denoise_block&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, denoise_block& x) {
  return f(caf::meta::type_name("tt.denoise_block"), x.job_id, x.handle, x.block_index, x.gamma,
           x.block_size, x.steps, x.temperature, x.seed, x.initial_tokens, x.time_conditioning, x.kind,
           x.token_index);
}

// Denoiser -> context: the reply to denoise_block.
struct block_committed {
  uint64_t job_id = 0;       // from denoise_block
  uint64_t sequence_id = 0;  // from denoise_block.handle
  uint32_t block_index = 0;  // from denoise_block
  bytes tokens;              // int32: the committed block
  bytes confidences;         // float32 per token: its confidence when it was committed
  int32_t steps = 0;         // refinement steps taken (<= denoise_block.steps)

  friend bool operator==(const block_committed&, const block_committed&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, block_committed& x) {
  return f(caf::meta::type_name("tt.block_committed"), x.job_id, x.sequence_id, x.block_index,
           x.tokens, x.confidences, x.steps);
}

// Lessee -> owner: the snapshot (sequence_id, epoch) is no longer read; the
// owner may free or reuse it. The owner also frees the leases of a lessee that
// is down.
struct release_handle {
  uint64_t sequence_id = 0;
  uint64_t epoch = 0;

  friend bool operator==(const release_handle&, const release_handle&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, release_handle& x) {
  return f(caf::meta::type_name("tt.release_handle"), x.sequence_id, x.epoch);
}

}  // namespace tt::msg
