// The router's one CAF actor: client of every context actor. Admission (a
// bounded queue), routing (routing_policy.hpp), deadlines, cancellation,
// migration of sequences whose context actor died, and the readiness probe.
#include "router/router_actor.hpp"

#include <caf/all.hpp>

#include "messages/bytes.hpp"
#include "router/router_state.hpp"

namespace tt::router {
namespace detail {
namespace {

int64_t unix_ms_at(clock::time_point t) {
  const auto now_sys = std::chrono::system_clock::now();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             (now_sys + (t - clock::now())).time_since_epoch())
      .count();
}

}  // namespace

void set_gauges(State& st) {
  uint32_t running = 0;
  for (auto& [id, r] : st.reqs) running += r.backend ? 1 : 0;
  st.m->router_requests_running.set(running);
  st.m->router_requests_waiting.set(static_cast<double>(st.queue.size()));
  st.status->active = static_cast<uint32_t>(st.reqs.size());
}

void finish(self_ptr self, uint64_t id, std::string_view outcome) {
  auto& st = self->state;
  auto it = st.reqs.find(id);
  if (it == st.reqs.end()) return;
  if (it->second.backend) {
    auto& b = st.backends[*it->second.backend];
    if (b.in_flight > 0) b.in_flight--;
  }
  st.by_wire.erase(it->second.wire_id);
  std::erase(st.queue, id);
  if (it->second.deadline) st.deadlines.remove(*it->second.deadline);
  st.m->requests.with({"outcome", outcome}).inc();
  st.reqs.erase(it);
  set_gauges(st);
  dispatch_queue(self);
}

void fail(self_ptr self, uint64_t id, int status, std::string type, std::string code, std::string message,
          std::string_view outcome) {
  auto it = self->state.reqs.find(id);
  if (it == self->state.reqs.end()) return;
  GenerationEvent e;
  e.kind = EventKind::failed;
  e.status = status;
  e.error_type = std::move(type);
  e.code = std::move(code);
  e.message = std::move(message);
  e.denoiser_forwards = it->second.df;
  e.context_forwards = it->second.cf;
  const SubmissionPtr sub = it->second.sub;
  finish(self, id, outcome);  // counted before the client can see the end
  sub->sink(std::move(e));
}

void send_cancel(self_ptr self, const Request& r) {
  if (r.backend && self->state.backends[*r.backend].up)
    self->send(self->state.backends[*r.backend].hdl, msg::cancel_request{r.wire_id},
               caf::actor_cast<msg::client_actor>(self));
}

bool try_dispatch(self_ptr self, uint64_t id) {
  auto& st = self->state;
  std::vector<BackendView> views;
  for (size_t i = 0; i < st.backends.size(); ++i) {
    const Backend& b = st.backends[i];
    views.push_back({i, b.up && b.in_flight < st.opt.max_running_per_context, b.in_flight, b.reported});
  }
  auto& r = st.reqs.at(id);
  const Generation& g = r.sub->generation;
  const auto chosen = st.policy->pick(views, g.user);
  if (!chosen) return false;
  msg::generate_request w;
  w.request_id = r.wire_id = st.next_wire++;
  std::vector<int32_t> prompt = g.prompt;  // after a migration: prompt + tokens already streamed
  prompt.insert(prompt.end(), r.produced.begin(), r.produced.end());
  w.prompt_tokens = msg::pack_int32(prompt);
  w.mode = g.mode;
  w.max_tokens = g.max_tokens - static_cast<int32_t>(r.produced.size());
  w.gamma = g.gamma;
  w.block_size = g.block_size;
  w.steps = g.steps;
  w.temperature = g.temperature;
  w.seed = g.seed;
  w.ignore_eos = g.ignore_eos;
  w.deadline_unix_ms = unix_ms_at(g.arrival + g.timeout);
  w.batch_chunks = true;  // one message per context step for all of this router's requests
  auto& b = st.backends[*chosen];
  self->send(b.hdl, std::move(w), caf::actor_cast<msg::client_actor>(self));
  b.in_flight++;
  r.backend = *chosen;
  st.by_wire[r.wire_id] = id;
  const auto now = clock::now();
  st.m->router_queue_time.observe(std::chrono::duration<double>(now - r.enqueued).count());
  if (r.ingress_s < 0)
    r.ingress_s = std::chrono::duration<double>((r.waited ? r.enqueued : now) - g.arrival).count();
  return true;
}

void dispatch_queue(self_ptr self) {
  auto& st = self->state;
  while (!st.queue.empty() && try_dispatch(self, st.queue.front())) st.queue.pop_front();
  set_gauges(st);
}

void on_submit(self_ptr self, SubmissionPtr sub) {
  auto& st = self->state;
  auto reject = [&](int status, std::string_view reason, std::string message, int retry) {
    st.m->rejections.with({"reason", reason}).inc();
    GenerationEvent e;
    e.kind = EventKind::failed;
    e.status = status;
    e.error_type = status == 429 ? "rate_limit_error" : "server_error";
    e.code = std::string(reason);
    e.message = std::move(message);
    e.retry_after_s = retry;
    sub->sink(std::move(e));
  };
  if (st.status->draining) return reject(503, names::reason::shutting_down, "the server is shutting down", 0);
  if (st.status->backends_up == 0)
    return reject(503, names::reason::no_backend, "no context actor is reachable; try again shortly", 1);
  const uint64_t id = sub->id;
  Request r;
  r.sub = sub;
  r.enqueued = r.last_chunk = clock::now();
  st.reqs.emplace(id, std::move(r));
  st.queue.push_back(id);
  dispatch_queue(self);
  if (const auto it = st.reqs.find(id); it != st.reqs.end() && it->second.wire_id == 0) it->second.waited = true;
  if (st.queue.size() > st.opt.max_queue && st.queue.back() == id) {
    st.queue.pop_back();
    st.reqs.erase(id);
    set_gauges(st);
    return reject(429, names::reason::queue_full,
                  "too many requests in flight (" + std::to_string(st.queue.size()) + " waiting); retry shortly", 1);
  }
  st.m->prompt_tokens.inc(sub->generation.prompt.size());
  st.reqs.at(id).deadline = st.deadlines.add(sub->generation.arrival + sub->generation.timeout, id);
  arm_deadlines(self);
}

void arm_deadlines(self_ptr self) {
  if (const auto first = self->state.deadlines.arm())
    self->delayed_send(self, std::max<clock::duration>(*first - clock::now(), clock::duration::zero()),
                       expire_atom::value);
}

void on_deadlines(self_ptr self) {
  auto& st = self->state;
  for (const uint64_t id : st.deadlines.due(clock::now())) {
    auto it = st.reqs.find(id);
    if (it == st.reqs.end()) continue;
    send_cancel(self, it->second);
    const auto ms = it->second.sub->generation.timeout.count();
    fail(self, id, 504, "timeout", "deadline_exceeded",
         "the request did not finish within its deadline of " + std::to_string(ms) + " ms", names::outcome::deadline);
  }
  arm_deadlines(self);
}

}  // namespace detail

using namespace detail;

caf::actor spawn_router_actor(caf::actor_system& sys, const DispatcherOptions& options, mon::Metrics& metrics,
                              std::shared_ptr<DispatcherStatus> status,
                              std::shared_ptr<std::vector<std::atomic<bool>>> connected) {
  return sys.spawn([options, &metrics, status, connected](self_ptr self) -> caf::behavior {
    auto& st = self->state;
    st.opt = options;
    st.m = &metrics;
    st.status = status;
    st.connected = connected;
    st.backends.resize(connected->size());
    st.policy = make_policy(options.policy);
    if (!st.policy) st.policy = std::make_unique<SessionAffinity>();
    self->set_down_handler([=](caf::down_msg& d) { on_down(self, d); });
    self->send(self, tick_atom::value);
    return {
      [=](submit_atom, SubmissionPtr sub) { on_submit(self, std::move(sub)); },
      [=](cancel_atom, uint64_t id, uint8_t why) {
        auto it = self->state.reqs.find(id);
        if (it == self->state.reqs.end()) return;
        send_cancel(self, it->second);
        finish(self, id,
               static_cast<CancelReason>(why) == CancelReason::stop_sequence ? names::outcome::ok
                                                                             : names::outcome::cancelled);
      },
      [=](expire_atom) { on_deadlines(self); },
      [=](backend_up_atom, uint64_t index, msg::context_actor hdl) {
        auto& st = self->state;
        if (index >= st.backends.size() || st.backends[index].up) return;
        st.backends[index] = Backend{hdl, true, 0, 0};
        st.backend_of[hdl.address()] = index;
        self->monitor(hdl);
        st.status->backends_up++;
        st.m->peer_events.with({{"role", names::role::context}, {"event", names::event::up}}).inc();
        st.next_probe = clock::now();
        dispatch_queue(self);
      },
      [=](const msg::token_chunk& c) { on_chunk(self, c); },
      [=](const msg::token_chunks& b) {
        for (const auto& c : b.chunks) on_chunk(self, c);
      },
      [=](const msg::request_error& e) { on_error(self, e); },
      [=](const msg::score_result&) {},
      [=](tick_atom) { on_tick(self); },
    };
  });
}

}  // namespace tt::router
