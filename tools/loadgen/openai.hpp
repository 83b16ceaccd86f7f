// The OpenAI completions schema as loadgen speaks it: the request body it
// sends, and a consumer that turns a (streamed or whole) response body into a
// RequestRecord: first-token time, per-token gaps, token counts, the
// twotower extension {denoiser_forwards, tokens_per_forward}. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tools/loadgen/http.hpp"
#include "tools/loadgen/stats.hpp"
#include "tools/loadgen/workload.hpp"

namespace tt::capacity {

struct Target {
  std::string host = "127.0.0.1";
  uint16_t port = 8000;
  std::string path = "/v1/completions";
};
// "http://HOST:PORT[/PATH]"; a bare or "/" path means /v1/completions. Throws tt::Error naming --url.
Target parse_url(const std::string& url);

struct RequestOptions {
  std::string model = "twotower";  // the router's default --model-name
  bool stream = true;
  bool prompt_as_text = false;  // false: token ids; true: one word per id
  bool ignore_eos = true;
  int vocab = 4096, first_id = 4;
};

// The full HTTP request for one spec.
std::string build_request(const Target& t, const RequestOptions& o, const RequestSpec& r, uint64_t index);

// Feed body bytes as they arrive, with the arrival time; then finish().
class ResponseConsumer {
public:
  ResponseConsumer(bool stream, RequestRecord& record);
  void body(std::string_view bytes, double now_s);
  // `status` is the HTTP status; fills record.ok / error / itl_s / counts.
  void finish(int status, double now_s);

private:
  void on_event(const std::string& data);
  void absorb(const nlohmann::json& j);

  bool stream_;
  RequestRecord& rec_;
  SseParser sse_;
  std::string whole_, head_;  // head_: the first bytes, for error reports
  double now_ = 0;
  bool done_event_ = false, counts_exact_ = true;
  int64_t usage_tokens_ = -1;
  std::string error_;
  std::vector<std::pair<double, int>> chunks_;  // arrival time, tokens
};

}  // namespace tt::capacity
