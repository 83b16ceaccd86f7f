// Context -> client: the stream of committed tokens, scores and errors.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "messages/bytes.hpp"

namespace tt::msg {

// Why a generation ended; `running` on every chunk but the final one.
enum class finish_reason : uint8_t { running = 0, length = 1, stop = 2, cancelled = 3 };

std::string to_string(finish_reason r);
bool is_known(finish_reason r);

// Committed tokens of one request, in order; the last chunk has final = true.
struct token_chunk {
  uint64_t request_id = 0;
  bytes tokens;                  // int32 token ids committed since the previous chunk
  uint32_t committed_total = 0;  // tokens committed so far, this chunk included
  bool final = false;            // no more chunks follow
  finish_reason finish = finish_reason::running;
  int32_t denoiser_forwards = 0;  // so far, for this sequence (metrics)
  int32_t context_forwards = 0;   // so far, for this sequence (metrics)
  uint32_t committed_tokens = 0;  // so far: tokens the denoiser committed (whole blocks), since protocol 2

  friend bool operator==(const token_chunk&, const token_chunk&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, token_chunk& x) {
  return f(caf::meta::type_name("tt.token_chunk"), x.request_id, x.tokens, x.committed_total,
           x.final, x.finish, x.denoiser_forwards, x.context_forwards, x.committed_tokens);
}

// Several token_chunk messages to one client, sent together (to clients that
// asked for it with generate_request.batch_chunks); each chunk means what it
// would alone, and the chunks of one request keep their order. Protocol 3.
struct token_chunks {
  std::vector<token_chunk> chunks;

  friend bool operator==(const token_chunks&, const token_chunks&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, token_chunks& x) {
  return f(caf::meta::type_name("tt.token_chunks"), x.chunks);
}

// The answer to score_request.
struct score_result {
  uint64_t request_id = 0;
  double logprob = 0;    // sum over the continuation
  bytes token_logprobs;  // float64 per continuation token, little-endian (pack_float64)

  friend bool operator==(const score_result&, const score_result&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, score_result& x) {
  return f(caf::meta::type_name("tt.score_result"), x.request_id, x.logprob, x.token_logprobs);
}

// What went wrong; wire values are fixed (new codes are appended).
enum class error_code : uint8_t {
  bad_request = 0,  // the request itself is invalid (message says which parameter)
  deadline = 1,     // deadline_unix_ms passed before the request finished
  overloaded = 2,   // admission refused; retrying later or elsewhere may work
  internal = 3,     // a bug or an unexpected failure on our side
  peer_down = 4,    // an actor the request depended on died and recovery failed
};

std::string to_string(error_code c);
bool is_known(error_code c);

// Ends a request instead of a final token_chunk / score_result.
struct request_error {
  uint64_t request_id = 0;
  error_code code = error_code::internal;
  std::string message;  // one line a person can act on

  friend bool operator==(const request_error&, const request_error&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, request_error& x) {
  return f(caf::meta::type_name("tt.request_error"), x.request_id, x.code, x.message);
}

}  // namespace tt::msg
