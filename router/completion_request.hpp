// The body of POST /v1/completions and /v1/chat/completions, parsed and
// checked against the served model: a pure function of JSON in, parameters or
// one OpenAI-style error out (never an exception).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "messages/request.hpp"
#include "router/api_error.hpp"

namespace tt {
class Tokenizer;
}

namespace tt::router {

// What the served model accepts.
struct ModelLimits {
  std::string model_name;     // the one id /v1/models lists
  int context_limit = 4096;   // prompt + max_tokens at most
  int vocab_size = 0;         // token ids must be below
  const Tokenizer* tokenizer = nullptr;  // null: only token-id prompts are accepted
};

struct CompletionParams {
  bool chat = false;
  std::vector<int32_t> prompt;  // token ids (tokenized prompt or chat template)
  int max_tokens = 16;
  float temperature = 0;  // default greedy: a base model, and reproducible
  uint64_t seed = 0;
  std::vector<std::string> stop;  // at most 4, none empty
  bool stream = false;
  std::string user;  // session affinity key
  msg::request_mode mode = msg::request_mode::diffusion;
  float gamma = 0.8f;
  int block_size = 16;
  int steps_per_block = 16;
  bool ignore_eos = false;  // vLLM's extension: EOS does not end the completion
};

using ParsedCompletion = std::variant<CompletionParams, ApiError>;

// `chat` selects the chat body (messages + the template of chat_template.hpp).
ParsedCompletion parse_completion(const nlohmann::json& body, const ModelLimits& limits, bool chat);

}  // namespace tt::router
