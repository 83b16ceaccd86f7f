// Response bytes of one completion (see completion_response.hpp).
#include "router/completion_response.hpp"

#include <cstdio>
#include <utility>

#include "router/api_error.hpp"

namespace tt::router {
namespace {

using json = nlohmann::json;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// The head of an SSE response: chunked transfer coding for HTTP/1.1; HTTP/1.0
// has none, so there the body ends when the connection closes.
std::string sse_head(unsigned version, bool keep_alive) {
  if (version == 10)
    return "HTTP/1.0 200 OK\r\nServer: twotower-router\r\nContent-Type: text/event-stream\r\n"
           "Cache-Control: no-cache\r\nConnection: close\r\n\r\n";
  std::string h = "HTTP/1.1 200 OK\r\n";
  h += "Server: twotower-router\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
       "Transfer-Encoding: chunked\r\n";
  if (!keep_alive) h += "Connection: close\r\n";
  return h + "\r\n";
}

// Appends `data` to `out` as one chunk of the chunked transfer coding (as it
// is for HTTP/1.0).
void append_chunk(std::string& out, const std::string& data, unsigned version) {
  if (data.empty()) return;  // an empty chunk would end the body
  if (version == 10) return void(out.append(data));
  char size[20];
  const int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  out.append(size, static_cast<size_t>(n)).append(data).append("\r\n");
}

constexpr const char* kLastChunk = "0\r\n\r\n";

}  // namespace

CompletionResponse::CompletionResponse(const CompletionParams& params, ResponseMeta meta, TextStream::Decoder decode,
                                       bool concatenates, JsonRenderer render, unsigned version, bool keep_alive)
    : params_(params),
      meta_(std::move(meta)),
      text_(std::move(decode), params.stop, concatenates),
      render_(std::move(render)),
      version_(version),
      keep_alive_(keep_alive) {
  usage_.prompt_tokens = static_cast<int>(params.prompt.size());
  usage_.mode = params.mode;
}

CompletionResponse::Output CompletionResponse::add(std::vector<GenerationEvent>& events) {
  Output out;
  if (ended_) return out;  // events after the end are ignored
  std::string sse;  // the SSE events of this output, sent as one chunk
  for (GenerationEvent& e : events) {
    if (ended_) break;
    if (e.kind == EventKind::failed) on_failed(e, out, sse);
    else on_tokens(e, out, sse);
    if (ended_) {
      ended_by_ = e.received;
      ingress_s_ = e.ingress_s;
    }
  }
  if (!params_.stream) return out;
  append_chunk(out.bytes, sse, version_);
  if (ended_ && head_written_ && version_ != 10) out.bytes += kLastChunk;
  return out;
}

void CompletionResponse::on_tokens(GenerationEvent& e, Output& out, std::string& sse) {
  usage_.completion_tokens += static_cast<int>(e.tokens.size());
  usage_.denoiser_forwards = e.denoiser_forwards;
  usage_.context_forwards = e.context_forwards;
  bool last = e.kind == EventKind::finished;
  const auto delta = text_.add(e.tokens, last);
  if (delta.stopped) {
    out.stop_upstream = !last;
    last = true;
    finish_ = "stop";
  } else if (last) {
    finish_ = finish_name(e.finish);
  }
  ended_ = last;
  if (!params_.stream) {
    if (last) out.bytes += render_(200, dump(completion_body(meta_, text_.text(), finish_, usage_)), 0);
    return;
  }
  const bool first = !head_written_;
  if (first) {
    out.bytes += sse_head(version_, keep_alive_);
    head_written_ = true;
    if (version_ == 10) keep_alive_ = false;  // the close ends the stream
  }
  if (!delta.text.empty() || last || first)
    sse += sse_event(completion_chunk(meta_, delta.text, last ? finish_ : "", last ? &usage_ : nullptr, first));
  if (last) sse += sse_done;
}

void CompletionResponse::on_failed(const GenerationEvent& e, Output& out, std::string& sse) {
  ended_ = true;
  const ApiError err{e.status, e.message, e.error_type, "", e.code};
  if (!head_written_) {  // nothing sent yet: a plain HTTP error
    out.bytes += render_(static_cast<unsigned>(e.status), dump(err.to_json()), e.retry_after_s);
    return;
  }
  // Mid-stream: an error event, then the end of the stream.
  sse += sse_event(err.to_json());
  sse += sse_done;
}

}  // namespace tt::router
