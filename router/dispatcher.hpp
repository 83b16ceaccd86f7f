// The CAF side of the router: one actor that is the client of every context
// actor (admission queue, routing, deadlines, cancellation, migration, the
// readiness probe), plus a thread that (re)connects to context actors. The
// HTTP side calls submit/cancel from any thread; events come back through the
// request's EventSink.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "messages/interfaces.hpp"
#include "router/discovery.hpp"
#include "router/generation.hpp"

namespace tt::mon {
struct Metrics;
}

namespace tt::router {

struct DispatcherOptions {
  std::vector<std::pair<std::string, uint16_t>> contexts;  // host, port: always used
  // More context actors, looked up every discovery_interval (discovery.hpp); they take
  // backend indices after `contexts`, at most discovered_capacity at a time.
  DiscoverySources discovery;
  std::chrono::milliseconds discovery_interval{5000};
  size_t discovered_capacity = 64;
  uint32_t max_running_per_context = 64;  // in flight on one context actor; more wait in the queue
  uint32_t max_queue = 256;               // waiting requests; more are refused (429)
  std::string policy = "affinity";        // routing_policy.hpp: "affinity" or "least-loaded"
  std::chrono::milliseconds probe_interval{2000};  // readiness probe (1-token diffusion) period
  std::chrono::milliseconds ready_window{10000};   // ready while the last good probe is this recent
  std::chrono::milliseconds reconnect_interval{500};
  // How to reach a context actor; empty: plain TCP (the CLI sets mutual TLS here).
  std::function<caf::expected<msg::context_actor>(const std::string& host, uint16_t port)> connect;
};

// Backend indices: the fixed contexts, then room for discovered ones.
inline size_t backend_capacity(const DispatcherOptions& o) {
  return o.contexts.size() + (o.discovery.empty() ? 0 : o.discovered_capacity);
}

// Shared between the actor, the connector thread and the HTTP side.
struct DispatcherStatus {
  std::atomic<int64_t> last_probe_ok_ms{0};  // steady-clock ms of the last good probe
  std::atomic<uint32_t> backends_up{0};
  std::atomic<uint32_t> active{0};  // admitted and not finished (queued or running)
  std::atomic<bool> draining{false};
};

class Dispatcher {
public:
  // Starts the actor and the connector; `metrics` must outlive the dispatcher.
  Dispatcher(caf::actor_system& sys, DispatcherOptions options, mon::Metrics& metrics);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Admits (or refuses, through the sink) a generation; returns its id for cancel().
  uint64_t submit(Generation generation, EventSink sink);
  // The client no longer wants it: stops it upstream (frees its cache); no more events.
  void cancel(uint64_t id, CancelReason why);
  // New requests are refused (503); in-flight ones go on.
  void drain() { status_->draining = true; }
  // Stops the connector and the actor and waits until it is gone: no sink is
  // called after this returns (call before what the sinks post to is destroyed).
  void shutdown();

  bool ready() const;
  const DispatcherStatus& status() const { return *status_; }

private:
  void connect_loop();

  caf::actor_system& sys_;
  DispatcherOptions options_;
  std::shared_ptr<DispatcherStatus> status_;
  std::shared_ptr<std::vector<std::atomic<bool>>> connected_;  // per backend, set by the actor on down
  caf::actor actor_;
  std::atomic<uint64_t> next_id_{1};
  std::atomic<bool> stop_{false};
  std::thread connector_;
};

}  // namespace tt::router
