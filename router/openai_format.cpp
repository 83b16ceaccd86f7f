// Builders of OpenAI-schema bodies (see openai_format.hpp).
#include "router/openai_format.hpp"

#include <chrono>

namespace tt::router {
namespace {

using json = nlohmann::json;

json extension(const Usage& u) {
  const int forwards = u.mode == msg::request_mode::ar ? u.context_forwards : u.denoiser_forwards;
  return json{{"mode", msg::to_string(u.mode)},
              {"denoiser_forwards", u.denoiser_forwards},
              {"context_forwards", u.context_forwards},
              {"tokens_per_forward", forwards > 0 ? static_cast<double>(u.completion_tokens) / forwards : 0.0}};
}

json usage_json(const Usage& u) {
  return json{{"prompt_tokens", u.prompt_tokens},
              {"completion_tokens", u.completion_tokens},
              {"total_tokens", u.prompt_tokens + u.completion_tokens}};
}

json head(const ResponseMeta& m, const char* object) {
  return json{{"id", m.id}, {"object", object}, {"created", m.created}, {"model", m.model}};
}

}  // namespace

ResponseMeta make_meta(uint64_t id, const std::string& model, bool chat) {
  ResponseMeta m;
  m.id = (chat ? "chatcmpl-" : "cmpl-") + std::to_string(id);
  m.created = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  m.model = model;
  m.chat = chat;
  return m;
}

std::string finish_name(msg::finish_reason r) {
  return r == msg::finish_reason::length ? "length" : "stop";
}

json completion_body(const ResponseMeta& m, const std::string& text, const std::string& finish, const Usage& usage) {
  json j = head(m, m.chat ? "chat.completion" : "text_completion");
  json choice{{"index", 0}, {"finish_reason", finish}, {"logprobs", nullptr}};
  if (m.chat) choice["message"] = json{{"role", "assistant"}, {"content", text}};
  else choice["text"] = text;
  j["choices"] = json::array({choice});
  j["usage"] = usage_json(usage);
  j["twotower"] = extension(usage);
  return j;
}

json completion_chunk(const ResponseMeta& m, const std::string& text, const std::string& finish, const Usage* usage,
                      bool first) {
  json j = head(m, m.chat ? "chat.completion.chunk" : "text_completion");
  json choice{{"index", 0}, {"finish_reason", finish.empty() ? json(nullptr) : json(finish)}, {"logprobs", nullptr}};
  if (m.chat) {
    json delta = json::object();
    if (first) delta["role"] = "assistant";
    if (!text.empty() || finish.empty()) delta["content"] = text;
    choice["delta"] = delta;
  } else {
    choice["text"] = text;
  }
  j["choices"] = json::array({choice});
  if (usage) {
    j["usage"] = usage_json(*usage);
    j["twotower"] = extension(*usage);
  }
  return j;
}

std::string sse_event(const json& j) {
  return "data: " + j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
}

json model_object(const std::string& model, int64_t created) {
  return json{{"id", model}, {"object", "model"}, {"created", created}, {"owned_by", "twotower"}};
}

json model_list(const std::string& model, int64_t created) {
  return json{{"object", "list"}, {"data", json::array({model_object(model, created)})}};
}

}  // namespace tt::router
