// Registers every metric of names.hpp and creates each known label set.
#include "monitoring/metrics.hpp"

#include "monitoring/names.hpp"

namespace tt::mon {
namespace {

template <class M, size_t N>
Family<M>& with_each(Family<M>& family, std::string_view label, const std::string_view (&values)[N]) {
  for (std::string_view v : values) family.with({label, v});
  return family;
}

}  // namespace

Metrics::Metrics(Registry& r)
    : requests(with_each(r.counter(names::requests), "outcome", names::outcome::all)),
      rejections(with_each(r.counter(names::rejections), "reason", names::reason::all)),
      time_to_first_token(r.histogram(names::time_to_first_token).with()),
      inter_token_latency(r.histogram(names::inter_token_latency).with()),
      request_duration(r.histogram(names::request_duration).with()),
      prompt_tokens(r.counter(names::prompt_tokens).with()),
      generation_tokens(r.counter(names::generation_tokens).with()),
      migrations(r.counter(names::migrations).with()),
      queue_time(r.histogram(names::queue_time).with()),
      requests_running(r.gauge(names::requests_running).with()),
      requests_waiting(r.gauge(names::requests_waiting).with()),
      cache_used_bytes(r.gauge(names::cache_used).with()),
      cache_capacity_bytes(r.gauge(names::cache_capacity).with()),
      block_latency(r.histogram(names::block_latency).with()),
      steps_per_block(r.histogram(names::steps_per_block).with()),
      tokens_per_forward(r.histogram(names::tokens_per_forward).with()),
      forward_batch_size(with_each(r.histogram(names::forward_batch_size), "tower", names::tower::all)),
      handle_transfer_bytes(with_each(r.counter(names::handle_transfer_bytes), "transport", names::transport::all)),
      handle_transfer_duration(
          with_each(r.histogram(names::handle_transfer_duration), "transport", names::transport::all)),
      peer_events(r.counter(names::peer_events)),
      context_requests(with_each(r.counter(names::context_requests), "outcome", names::outcome::all)),
      context_time_to_first_token(r.histogram(names::context_time_to_first_token).with()),
      context_request_duration(r.histogram(names::context_request_duration).with()),
      context_prompt_tokens(r.counter(names::context_prompt_tokens).with()),
      context_generation_tokens(r.counter(names::context_generation_tokens).with()),
      router_requests_running(r.gauge(names::router_requests_running).with()),
      router_requests_waiting(r.gauge(names::router_requests_waiting).with()),
      router_queue_time(r.histogram(names::router_queue_time).with()),
      router_tokens_per_forward(r.histogram(names::router_tokens_per_forward).with()),
      router_overhead(r.histogram(names::router_overhead).with()) {
  for (std::string_view role : names::role::all)
    for (std::string_view event : names::event::all) peer_events.with({{"role", role}, {"event", event}});
}

}  // namespace tt::mon
