// Parses and checks a completion body (see completion_request.hpp).
#include "router/completion_request.hpp"

#include <cmath>
#include <limits>

#include "model/error.hpp"
#include "model/tokenizer.hpp"
#include "router/chat_template.hpp"

namespace tt::router {
namespace {

using json = nlohmann::json;

// A present, non-null field; nullptr when absent or null (the default applies).
const json* field(const json& body, const char* name) {
  const auto it = body.find(name);
  return it == body.end() || it->is_null() ? nullptr : &*it;
}

std::optional<ApiError> get_int(const json& body, const char* name, int64_t lo, int64_t hi, int64_t& out) {
  const json* f = field(body, name);
  if (!f) return std::nullopt;
  if (!f->is_number_integer())
    return bad_request(std::string(name) + ": must be an integer", name, "invalid_type");
  const bool negative = f->is_number_unsigned() ? false : f->get<int64_t>() < 0;
  if (!negative && f->is_number_unsigned() && f->get<uint64_t>() > static_cast<uint64_t>(hi))
    return bad_request(std::string(name) + ": must be at most " + std::to_string(hi), name, "out_of_range");
  const int64_t v = f->get<int64_t>();
  if (v < lo || v > hi)
    return bad_request(std::string(name) + ": must be in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                           "] (got " + std::to_string(v) + ")",
                       name, "out_of_range");
  out = v;
  return std::nullopt;
}

// lo < v <= hi when lo_open, else lo <= v <= hi.
std::optional<ApiError> get_float(const json& body, const char* name, double lo, double hi, bool lo_open, float& out) {
  const json* f = field(body, name);
  if (!f) return std::nullopt;
  if (!f->is_number()) return bad_request(std::string(name) + ": must be a number", name, "invalid_type");
  const double v = f->get<double>();
  if (!std::isfinite(v) || (lo_open ? v <= lo : v < lo) || v > hi)
    return bad_request(std::string(name) + ": must be in " + (lo_open ? "(" : "[") + std::to_string(lo) + ", " +
                           std::to_string(hi) + "]",
                       name, "out_of_range");
  out = static_cast<float>(v);
  return std::nullopt;
}

std::optional<ApiError> encode(const std::string& text, const ModelLimits& limits, std::vector<int32_t>& out) {
  if (text.empty()) return bad_request("prompt: empty text", "prompt", "invalid_value");
  if (!limits.tokenizer) return bad_request("prompt: this model has no tokenizer; send token ids", "prompt");
  try {
    out = limits.tokenizer->encode(text, true);
  } catch (const Error& e) {
    return bad_request(std::string("prompt: ") + e.what(), "prompt");
  }
  return std::nullopt;
}

std::optional<ApiError> token_ids(const json& a, const ModelLimits& limits, std::vector<int32_t>& out) {
  for (const auto& t : a) {
    if (!t.is_number_integer()) return bad_request("prompt: token ids must be integers", "prompt", "invalid_type");
    const int64_t id = t.is_number_unsigned() && t.get<uint64_t>() > INT32_MAX ? INT64_MAX : t.get<int64_t>();
    if (id < 0 || id >= limits.vocab_size)
      return bad_request("prompt: token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                             std::to_string(limits.vocab_size) + ")",
                         "prompt", "out_of_range");
    out.push_back(static_cast<int32_t>(id));
  }
  return std::nullopt;
}

// A string, an array of token ids, or a one-element array of either.
std::optional<ApiError> parse_prompt(const json& body, const ModelLimits& limits, std::vector<int32_t>& out) {
  const json* p = field(body, "prompt");
  if (!p) return bad_request("prompt: required", "prompt", "missing_required_parameter");
  if (p->is_string()) return encode(p->get<std::string>(), limits, out);
  if (!p->is_array()) return bad_request("prompt: must be a string or an array of token ids", "prompt", "invalid_type");
  if (p->size() == 1 && ((*p)[0].is_string() || (*p)[0].is_array())) {
    if ((*p)[0].is_string()) return encode((*p)[0].get<std::string>(), limits, out);
    return token_ids((*p)[0], limits, out);
  }
  if (!p->empty() && ((*p)[0].is_string() || (*p)[0].is_array()))
    return bad_request("prompt: one prompt per request (batches are not supported)", "prompt", "unsupported");
  return token_ids(*p, limits, out);
}

std::optional<ApiError> parse_stop(const json& body, std::vector<std::string>& out) {
  const json* s = field(body, "stop");
  if (!s) return std::nullopt;
  if (s->is_string()) {
    out.push_back(s->get<std::string>());
  } else if (s->is_array()) {
    if (s->size() > 4) return bad_request("stop: at most 4 stop sequences", "stop", "out_of_range");
    for (const auto& x : *s) {
      if (!x.is_string()) return bad_request("stop: must be a string or an array of strings", "stop", "invalid_type");
      out.push_back(x.get<std::string>());
    }
  } else {
    return bad_request("stop: must be a string or an array of strings", "stop", "invalid_type");
  }
  for (const auto& x : out)
    if (x.empty()) return bad_request("stop: stop sequences must not be empty", "stop", "invalid_value");
  return std::nullopt;
}

std::optional<ApiError> parse_fields(const json& body, const ModelLimits& limits, bool chat, CompletionParams& p) {
  const json* model = field(body, "model");
  if (!model) return bad_request("model: required", "model", "missing_required_parameter");
  if (!model->is_string()) return bad_request("model: must be a string", "model", "invalid_type");
  if (model->get<std::string>() != limits.model_name) {
    ApiError e = not_found("The model '" + model->get<std::string>() + "' does not exist (this server has '" +
                               limits.model_name + "')",
                           "model_not_found");
    e.param = "model";
    return e;
  }
  p.chat = chat;
  if (chat) {
    const json* m = field(body, "messages");
    if (!m) return bad_request("messages: required", "messages", "missing_required_parameter");
    auto text = render_chat(*m);
    if (auto* e = std::get_if<ApiError>(&text)) return *e;
    if (auto e = encode(std::get<std::string>(text), limits, p.prompt)) return e;
  } else if (auto e = parse_prompt(body, limits, p.prompt)) {
    return e;
  }
  if (p.prompt.empty()) return bad_request("prompt: empty (at least one token is needed)", "prompt", "invalid_value");
  int64_t v = 0;
  const char* max_name = chat && field(body, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  v = p.max_tokens;
  if (auto e = get_int(body, max_name, 1, 1 << 20, v)) return e;
  p.max_tokens = static_cast<int>(v);
  if (auto e = get_float(body, "temperature", 0, 2, false, p.temperature)) return e;
  if (const json* s = field(body, "seed")) {
    if (!s->is_number_integer()) return bad_request("seed: must be an integer", "seed", "invalid_type");
    if (!s->is_number_unsigned() && s->get<int64_t>() < 0)
      return bad_request("seed: must be >= 0", "seed", "out_of_range");
    p.seed = s->get<uint64_t>();
  }
  if (auto e = parse_stop(body, p.stop)) return e;
  if (chat && !field(body, "stop")) p.stop.push_back(chat_default_stop);
  if (const json* s = field(body, "stream")) {
    if (!s->is_boolean()) return bad_request("stream: must be a boolean", "stream", "invalid_type");
    p.stream = s->get<bool>();
  }
  if (const json* s = field(body, "ignore_eos")) {
    if (!s->is_boolean()) return bad_request("ignore_eos: must be a boolean", "ignore_eos", "invalid_type");
    p.ignore_eos = s->get<bool>();
  }
  if (const json* u = field(body, "user")) {
    if (!u->is_string()) return bad_request("user: must be a string", "user", "invalid_type");
    p.user = u->get<std::string>();
  }
  if (const json* n = field(body, "n"); n && (!n->is_number_integer() || n->get<int64_t>() != 1))
    return bad_request("n: only n = 1 is supported", "n", "unsupported");
  if (const json* l = field(body, "logprobs"); l && !(l->is_boolean() && !l->get<bool>()))
    return bad_request("logprobs: not supported", "logprobs", "unsupported");
  if (const json* m = field(body, "mode")) {
    const std::string s = m->is_string() ? m->get<std::string>() : "";
    if (s == "diffusion") p.mode = msg::request_mode::diffusion;
    else if (s == "ar") p.mode = msg::request_mode::ar;
    else if (s == "mock-ar") p.mode = msg::request_mode::mock_ar;
    else return bad_request("mode: must be \"diffusion\", \"ar\" or \"mock-ar\"", "mode", "invalid_value");
  }
  if (auto e = get_float(body, "gamma", 0, 1, true, p.gamma)) return e;
  v = p.block_size;
  if (auto e = get_int(body, "block_size", 1, 256, v)) return e;
  p.block_size = static_cast<int>(v);
  v = p.steps_per_block;
  if (auto e = get_int(body, "steps_per_block", 1, 256, v)) return e;
  p.steps_per_block = static_cast<int>(v);
  const int64_t total = static_cast<int64_t>(p.prompt.size()) + p.max_tokens;
  if (total > limits.context_limit)
    return bad_request("This model's maximum context length is " + std::to_string(limits.context_limit) +
                           " tokens; the request has " + std::to_string(p.prompt.size()) + " prompt tokens and " +
                           std::to_string(p.max_tokens) + " max_tokens",
                       chat ? "messages" : "prompt", "context_length_exceeded");
  return std::nullopt;
}

}  // namespace

ParsedCompletion parse_completion(const json& body, const ModelLimits& limits, bool chat) {
  if (!body.is_object()) return bad_request("the request body must be a JSON object", "", "invalid_body");
  CompletionParams p;
  if (auto e = parse_fields(body, limits, chat, p)) return *e;
  return p;
}

}  // namespace tt::router
