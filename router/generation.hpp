// What the HTTP side asks of the dispatcher, and the events it gets back: the
// seam between Asio (connections) and CAF (context actors).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "messages/request.hpp"
#include "messages/response.hpp"

namespace tt::router {

struct Generation {
  std::vector<int32_t> prompt;
  msg::request_mode mode = msg::request_mode::diffusion;
  int32_t max_tokens = 16;
  float gamma = 0.8f;
  int32_t block_size = 16;
  int32_t steps = 16;
  float temperature = 0;
  uint64_t seed = 0;
  bool ignore_eos = false;  // exactly max_tokens tokens, EOS or not
  std::string user;  // affinity key
  std::chrono::steady_clock::time_point arrival = std::chrono::steady_clock::now();
  std::chrono::milliseconds timeout{300000};  // from arrival; then 504
};

// Lifecycle of one generation as the client sees it (chronological).
enum class EventKind : uint8_t { tokens, finished, failed };

struct GenerationEvent {
  EventKind kind = EventKind::tokens;
  std::vector<int32_t> tokens;  // tokens: newly committed ids (finished: the last ones, maybe none)
  msg::finish_reason finish = msg::finish_reason::running;  // finished: length or stop (EOS)
  int32_t denoiser_forwards = 0;  // so far, across migrations
  int32_t context_forwards = 0;
  // failed: the HTTP status and an OpenAI-style error
  int status = 500;
  std::string error_type = "server_error";
  std::string code;
  std::string message;
  int retry_after_s = 0;  // 429/503: the Retry-After header, 0 = none
  // When the router actor took the event from its context actor, and (on the
  // last event) the request's ingress time in the router; for router_overhead.
  std::chrono::steady_clock::time_point received = std::chrono::steady_clock::now();
  double ingress_s = 0;
};

// Called on a CAF thread, in order, once per event, until finished or failed;
// must only hand the event over (e.g. post it to the connection's strand).
using EventSink = std::function<void(GenerationEvent&&)>;

// How a generation the client no longer wants ended, for the outcome metric.
enum class CancelReason : uint8_t { stop_sequence, client_gone };

}  // namespace tt::router
