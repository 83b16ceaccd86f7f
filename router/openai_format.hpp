// The OpenAI response schema: completion and chat bodies, their stream chunks
// (SSE events), and the model list. Pure functions of their arguments.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "messages/request.hpp"
#include "messages/response.hpp"

namespace tt::router {

// What every body and chunk of one request shares.
struct ResponseMeta {
  std::string id;  // "cmpl-…" or "chatcmpl-…"
  int64_t created = 0;  // Unix seconds
  std::string model;
  bool chat = false;
};

struct Usage {
  int prompt_tokens = 0;
  int completion_tokens = 0;
  int denoiser_forwards = 0;
  int context_forwards = 0;
  msg::request_mode mode = msg::request_mode::diffusion;
};

ResponseMeta make_meta(uint64_t id, const std::string& model, bool chat);

// "stop" for EOS or a stop sequence, "length" for max_tokens.
std::string finish_name(msg::finish_reason r);

// The whole non-streamed body.
nlohmann::json completion_body(const ResponseMeta& meta, const std::string& text, const std::string& finish,
                               const Usage& usage);

// One stream chunk: `finish` empty while running; the last chunk carries usage.
nlohmann::json completion_chunk(const ResponseMeta& meta, const std::string& text, const std::string& finish,
                                const Usage* usage, bool first);

// "data: <json>\n\n"
std::string sse_event(const nlohmann::json& j);
inline constexpr const char* sse_done = "data: [DONE]\n\n";

nlohmann::json model_object(const std::string& model, int64_t created);
nlohmann::json model_list(const std::string& model, int64_t created);

}  // namespace tt::router
