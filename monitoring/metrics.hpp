// The runtime's metrics (names.hpp), registered into one Registry. Unlabelled
// metrics are handed out directly; labelled ones as families, whose children
// are all created here, so every series exists (at 0) from the start. Record
// through a cached reference, e.g.
//   Counter& ok = metrics.requests.with({"outcome", names::outcome::ok});  // once
//   ok.inc();                                                              // hot path
#pragma once

#include "monitoring/registry.hpp"

namespace tt::mon {

struct Metrics {
  explicit Metrics(Registry& registry);

  // router
  Family<Counter>& requests;    // {outcome}
  Family<Counter>& rejections;  // {reason}
  Histogram& time_to_first_token;
  Histogram& inter_token_latency;
  Histogram& request_duration;
  Counter& prompt_tokens;
  Counter& generation_tokens;
  Counter& migrations;

  // context
  Histogram& queue_time;
  Gauge& requests_running;
  Gauge& requests_waiting;
  Gauge& cache_used_bytes;
  Gauge& cache_capacity_bytes;
  Histogram& block_latency;

  // denoiser
  Histogram& steps_per_block;
  Histogram& tokens_per_forward;

  // both towers
  Family<Histogram>& forward_batch_size;  // {tower}

  // cache handles
  Family<Counter>& handle_transfer_bytes;       // {transport}
  Family<Histogram>& handle_transfer_duration;  // {transport}

  // cluster
  Family<Counter>& peer_events;  // {role, event}

  // context: requests as the context actor serves them
  Family<Counter>& context_requests;  // {outcome}
  Histogram& context_time_to_first_token;
  Histogram& context_request_duration;
  Counter& context_prompt_tokens;
  Counter& context_generation_tokens;
  // router: admission and per-request decoding
  Gauge& router_requests_running;
  Gauge& router_requests_waiting;
  Histogram& router_queue_time;
  Histogram& router_tokens_per_forward;
  Histogram& router_overhead;
};

}  // namespace tt::mon
