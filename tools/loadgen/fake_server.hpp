// A trivial OpenAI completions endpoint for testing and benchmarking loadgen:
// no model, known delays. POST /v1/completions answers max_tokens tokens
// (streamed as SSE chunks of `tokens_per_chunk`, or one JSON body) after a
// time to first token taken round-robin from `ttft_s`, with `chunk_gap_s`
// between chunks, and the twotower extension object. One Asio thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace tt::capacity {

struct FakeServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;                  // 0: any free port
  std::vector<double> ttft_s = {0};   // cycled over requests in arrival order
  double chunk_gap_s = 0;
  int tokens_per_chunk = 1;
  double tokens_per_forward = 2.0;    // reported as denoiser_forwards = ceil(tokens / this)
  int64_t max_requests = 0;           // exit after this many responses (0: run forever)
};

// Parses "20ms,40ms,1s" (a unit on each); throws tt::Error naming `option`.
std::vector<double> parse_durations(const std::string& text, const std::string& option);

// Binds, calls on_listening(port), serves until max_requests responses were sent.
void run_fake_server(const FakeServerOptions& o, const std::function<void(uint16_t)>& on_listening);

// The same server on its own thread, listening when constructed, stopped when destroyed.
class BackgroundFakeServer {
public:
  explicit BackgroundFakeServer(FakeServerOptions o);
  ~BackgroundFakeServer();
  uint16_t port() const { return port_; }

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
};

}  // namespace tt::capacity
