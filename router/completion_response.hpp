// The bytes of one completion's HTTP response, built event by event: an SSE
// stream (chunked transfer coding, one `data:` event per committed chunk, then
// `data: [DONE]`) or, when not streaming, one JSON body at the end. Stop
// sequences are applied here. Pure: no sockets, no threads (completion_call.cpp
// is the shell that moves the bytes).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "router/completion_request.hpp"
#include "router/generation.hpp"
#include "router/openai_format.hpp"
#include "router/text_stream.hpp"

namespace tt::router {

class CompletionResponse {
public:
  // A whole HTTP response with a JSON body, as bytes (status line, headers,
  // body; a Retry-After header when retry_after_s > 0).
  using JsonRenderer = std::function<std::string(unsigned status, const std::string& body, int retry_after_s)>;

  // `concatenates`: see TextStream.
  CompletionResponse(const CompletionParams& params, ResponseMeta meta, TextStream::Decoder decode, bool concatenates,
                     JsonRenderer render, unsigned version, bool keep_alive);

  struct Output {
    std::string bytes;         // to write next, in order
    bool stop_upstream = false;  // a stop sequence matched before the generation ended: cancel it
  };
  // Appends the bytes for `events`, in order; events after the end of the
  // response are ignored.
  Output add(std::vector<GenerationEvent>& events);

  bool ended() const { return ended_; }
  // After the end: whether the connection may serve another request.
  bool keep_alive() const { return keep_alive_; }
  // After the end: when the router actor took the event that ended the
  // response, and the request's ingress time (for router_overhead).
  std::chrono::steady_clock::time_point ended_by() const { return ended_by_; }
  double ingress_s() const { return ingress_s_; }

private:
  void on_tokens(GenerationEvent& e, Output& out, std::string& events);
  void on_failed(const GenerationEvent& e, Output& out, std::string& events);

  CompletionParams params_;
  ResponseMeta meta_;
  TextStream text_;
  JsonRenderer render_;
  unsigned version_;
  bool keep_alive_;
  Usage usage_;
  bool head_written_ = false;  // the SSE head is in an earlier or the current output
  bool ended_ = false;
  std::string finish_;
  std::chrono::steady_clock::time_point ended_by_{};
  double ingress_s_ = 0;
};

}  // namespace tt::router
