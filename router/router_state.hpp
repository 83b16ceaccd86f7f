// The router actor's state and the helpers its handlers share (private to
// router_actor.cpp and router_events.cpp).
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <caf/stateful_actor.hpp>

#include "actors/deadline_queue.hpp"
#include "messages/interfaces.hpp"
#include "monitoring/metrics.hpp"
#include "monitoring/names.hpp"
#include "router/router_actor.hpp"
#include "router/routing_policy.hpp"

namespace tt::router::detail {

using clock = std::chrono::steady_clock;
namespace names = mon::names;

constexpr auto kTick = std::chrono::milliseconds(250);
constexpr auto kProbeTimeout = std::chrono::seconds(5);

struct Backend {
  msg::context_actor hdl;
  bool up = false;
  uint32_t in_flight = 0;
  uint32_t reported = 0;
};

using Deadlines = actors::DeadlineQueue<clock::time_point>;

struct Request {
  SubmissionPtr sub;
  uint64_t wire_id = 0;  // 0 while queued
  std::optional<size_t> backend;
  std::vector<int32_t> produced;  // every token sent to the client so far
  int32_t df_base = 0, cf_base = 0, df = 0, cf = 0;  // forwards before the last migration, and so far
  clock::time_point enqueued, last_chunk;
  bool got_tokens = false;
  bool waited = false;    // not sent at once: queued for admission
  double ingress_s = -1;  // HTTP request read -> first sent to a context actor, less the wait; -1: not yet
  std::optional<Deadlines::Handle> deadline;  // its entry in State::deadlines
};

struct State {
  DispatcherOptions opt;
  mon::Metrics* m = nullptr;
  std::shared_ptr<DispatcherStatus> status;
  std::shared_ptr<std::vector<std::atomic<bool>>> connected;
  std::vector<Backend> backends;
  std::map<caf::actor_addr, size_t> backend_of;
  std::map<uint64_t, Request> reqs;
  std::deque<uint64_t> queue;
  Deadlines deadlines;  // of requests, behind one expire_atom timer
  std::unordered_map<uint64_t, uint64_t> by_wire;  // wire request id -> request id
  uint64_t next_wire = 1;
  std::unique_ptr<RoutingPolicy> policy;
  uint64_t probe_wire = 0;
  clock::time_point probe_sent, next_probe;
  size_t probe_rr = 0;
};

using self_ptr = caf::stateful_actor<State>*;

// Forgets request `id` (its sink has had its last event), frees its slot and
// dispatches what waits.
void finish(self_ptr self, uint64_t id, std::string_view outcome);
// Sends the failed event, then finish().
void fail(self_ptr self, uint64_t id, int status, std::string type, std::string code, std::string message,
          std::string_view outcome);
void send_cancel(self_ptr self, const Request& r);
void dispatch_queue(self_ptr self);
void set_gauges(State& st);

void on_chunk(self_ptr self, const msg::token_chunk& c);
void on_error(self_ptr self, const msg::request_error& e);
void on_down(self_ptr self, const caf::down_msg& d);
void on_tick(self_ptr self);
// Arms the timer for the earliest deadline unless one is armed at or before it.
void arm_deadlines(self_ptr self);
// Fails every request whose deadline has passed (504), then re-arms.
void on_deadlines(self_ptr self);

}  // namespace tt::router::detail
