// Client -> context: what a client (the router) asks of a context actor.
#pragma once

#include <cstdint>
#include <string>

#include <caf/meta/type_name.hpp>

#include "messages/bytes.hpp"

namespace tt::msg {

// How to decode; wire values are fixed (new modes are appended).
enum class request_mode : uint8_t { diffusion = 0, ar = 1, mock_ar = 2 };

std::string to_string(request_mode m);
bool is_known(request_mode m);  // false for a value a newer peer might send

// Generate up to max_tokens tokens after the prompt; the context actor streams
// token_chunk messages (or one request_error) to the client that sent it.
struct generate_request {
  uint64_t request_id = 0;       // chosen by the client, unique per client
  bytes prompt_tokens;           // int32 token ids, little-endian (pack_int32)
  request_mode mode = request_mode::diffusion;
  int32_t max_tokens = 0;        // new tokens at most (EOS may end earlier)
  float gamma = 0;               // diffusion: commit threshold, conf > gamma, in (0, 1]
  int32_t block_size = 0;        // diffusion: tokens per block (S)
  int32_t steps = 0;             // diffusion: refinement steps per block (T)
  float temperature = 0;         // 0 = greedy; > 0 = sample from logits / temperature
  uint64_t seed = 0;             // RNG seed; with block index and step it fixes every draw
  int64_t deadline_unix_ms = 0;  // give up after this time (ms since the Unix epoch)
  // The client takes token_chunks: the chunks of all its requests that one
  // step produced, in one message (the router, which serves many). Protocol 3.
  bool batch_chunks = false;
  // EOS does not end the request: exactly max_tokens tokens (load tests; vLLM's
  // ignore_eos). Protocol 4.
  bool ignore_eos = false;

  friend bool operator==(const generate_request&, const generate_request&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, generate_request& x) {
  return f(caf::meta::type_name("tt.generate_request"), x.request_id, x.prompt_tokens, x.mode,
           x.max_tokens, x.gamma, x.block_size, x.steps, x.temperature, x.seed,
           x.deadline_unix_ms, x.batch_chunks, x.ignore_eos);
}

// Log-probability of continuation given prompt (answered by one score_result).
struct score_request {
  uint64_t request_id = 0;
  bytes prompt_tokens;        // int32 token ids, little-endian
  bytes continuation_tokens;  // int32 token ids, little-endian; scored one by one
  int64_t deadline_unix_ms = 0;

  friend bool operator==(const score_request&, const score_request&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, score_request& x) {
  return f(caf::meta::type_name("tt.score_request"), x.request_id, x.prompt_tokens,
           x.continuation_tokens, x.deadline_unix_ms);
}

// Stop a request of the sender's; answered by a final token_chunk with
// finish_reason::cancelled (nothing when the request had already finished).
struct cancel_request {
  uint64_t request_id = 0;

  friend bool operator==(const cancel_request&, const cancel_request&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cancel_request& x) {
  return f(caf::meta::type_name("tt.cancel_request"), x.request_id);
}

}  // namespace tt::msg
