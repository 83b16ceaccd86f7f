// Request bodies and response accounting for the OpenAI completions API.
#include "tools/loadgen/openai.hpp"

#include <cmath>

#include "model/error.hpp"

namespace tt::capacity {

Target parse_url(const std::string& url) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) throw Error("--url: '" + url + "' must start with http:// (https is not supported)");
  Target t;
  const std::string rest = url.substr(scheme.size());
  const size_t slash = rest.find('/');
  const std::string hostport = rest.substr(0, slash);
  if (slash != std::string::npos && rest.substr(slash) != "/") t.path = rest.substr(slash);
  const size_t colon = hostport.rfind(':');
  t.host = hostport.substr(0, colon);
  if (t.host.empty()) throw Error("--url: '" + url + "' has no host");
  if (colon == std::string::npos) {
    t.port = 80;
  } else {
    const std::string p = hostport.substr(colon + 1);
    char* end = nullptr;
    const long v = std::strtol(p.c_str(), &end, 10);
    if (p.empty() || *end != '\0' || v < 1 || v > 65535) throw Error("--url: bad port '" + p + "'");
    t.port = static_cast<uint16_t>(v);
  }
  return t;
}

std::string build_request(const Target& t, const RequestOptions& o, const RequestSpec& r, uint64_t index) {
  const std::vector<int32_t> ids = prompt_ids(r, index, o.vocab, o.first_id);
  nlohmann::json body = {{"model", o.model}, {"max_tokens", r.output_len}, {"stream", o.stream}, {"temperature", 0}};
  if (o.prompt_as_text) {
    std::string text;
    static const char* kWords[] = {"the", "of", "and", "to", "in", "was", "he", "that", "it", "his",
                                   "her", "with", "as", "had", "for", "she", "not", "at", "but", "be"};
    for (int32_t id : ids) (text += text.empty() ? "" : " ") += kWords[id % 20];
    body["prompt"] = text;
  } else {
    body["prompt"] = ids;
  }
  if (o.ignore_eos) body["ignore_eos"] = true;
  if (o.stream) body["stream_options"] = {{"include_usage", true}};
  const std::string b = body.dump();
  return "POST " + t.path + " HTTP/1.1\r\nHost: " + t.host + ":" + std::to_string(t.port) +
         "\r\nContent-Type: application/json\r\nAccept: " + (o.stream ? "text/event-stream" : "application/json") +
         "\r\nContent-Length: " + std::to_string(b.size()) + "\r\n\r\n" + b;
}

ResponseConsumer::ResponseConsumer(bool stream, RequestRecord& record)
    : stream_(stream), rec_(record), sse_([this](const std::string& d) { on_event(d); }) {}

void ResponseConsumer::body(std::string_view bytes, double now_s) {
  now_ = now_s;
  if (head_.size() < 512) head_.append(bytes.substr(0, 512 - head_.size()));
  if (stream_) sse_.feed(bytes);
  else whole_.append(bytes);
}

void ResponseConsumer::absorb(const nlohmann::json& j) {
  if (!j.is_object()) return;
  if (auto e = j.find("error"); e != j.end()) {
    error_ = e->is_object() && e->contains("message") && (*e)["message"].is_string() ? (*e)["message"].get<std::string>()
                                                                                        : e->dump();
    return;
  }
  if (auto u = j.find("usage"); u != j.end() && u->is_object()) {
    if (u->contains("completion_tokens") && (*u)["completion_tokens"].is_number_integer())
      usage_tokens_ = (*u)["completion_tokens"].get<int64_t>();
    if (u->contains("prompt_tokens") && (*u)["prompt_tokens"].is_number_integer())
      rec_.input_tokens = (*u)["prompt_tokens"].get<int>();
  }
  if (auto x = j.find("twotower"); x != j.end() && x->is_object() && x->contains("denoiser_forwards") &&
                                   (*x)["denoiser_forwards"].is_number())
    rec_.denoiser_forwards = (*x)["denoiser_forwards"].get<int64_t>();
  auto c = j.find("choices");
  if (c == j.end() || !c->is_array() || c->empty() || !(*c)[0].is_object()) return;
  const auto& ch = (*c)[0];
  int n = 0;
  if (auto ids = ch.find("token_ids"); ids != ch.end() && ids->is_array()) {
    n = static_cast<int>(ids->size());
  } else if (auto t = ch.find("text"); t != ch.end() && t->is_string() && !t->get_ref<const std::string&>().empty()) {
    n = 1;
    counts_exact_ = false;
  }
  if (n > 0) chunks_.emplace_back(now_, n);
}

void ResponseConsumer::on_event(const std::string& data) {
  if (data == "[DONE]") {
    done_event_ = true;
    return;
  }
  try {
    absorb(nlohmann::json::parse(data));
  } catch (const nlohmann::json::exception&) {
    error_ = "malformed SSE event: " + data.substr(0, 120);
  }
}

void ResponseConsumer::finish(int status, double now_s) {
  rec_.end_s = now_s;
  if (!stream_ && !whole_.empty()) {
    try {
      const auto j = nlohmann::json::parse(whole_);
      now_ = now_s;
      absorb(j);
    } catch (const nlohmann::json::exception&) {
      if (status == 200) error_ = "malformed JSON response";
    }
  }
  if (status != 200) {
    if (error_.empty()) {  // an error body is JSON even when a stream was asked for
      const auto j = nlohmann::json::parse(head_, nullptr, false);
      if (j.is_object()) absorb(j);
      if (error_.empty()) error_ = head_.substr(0, 200);
    }
    rec_.error = "HTTP " + std::to_string(status) + (error_.empty() ? "" : ": " + error_);
    return;
  }
  if (!error_.empty()) {
    rec_.error = error_;
    return;
  }
  if (stream_ && !done_event_) {
    rec_.error = "stream ended without [DONE]";
    return;
  }
  int counted = 0;
  for (const auto& c : chunks_) counted += c.second;
  rec_.output_tokens = usage_tokens_ >= 0 ? static_cast<int>(usage_tokens_) : counted;
  if (!chunks_.empty()) rec_.first_token_s = chunks_.front().first;
  // Without per-chunk token ids, spread the reported total evenly over the chunks.
  const double per_chunk = !counts_exact_ && usage_tokens_ > 0 && !chunks_.empty()
                               ? static_cast<double>(usage_tokens_) / static_cast<double>(chunks_.size())
                               : 0;
  for (size_t i = 1; i < chunks_.size(); ++i) {
    const double n = per_chunk > 0 ? per_chunk : chunks_[i].second;
    const double gap = chunks_[i].first - chunks_[i - 1].first;
    const int copies = std::max(1, static_cast<int>(std::lround(n)));
    for (int k = 0; k < copies; ++k) rec_.itl_s.push_back(gap / n);
  }
  rec_.ok = true;
}

}  // namespace tt::capacity
