// The router actor's handlers for what context actors send: committed chunks,
// errors, going down (migration), and its own periodic tick (load reports and
// the readiness probe).
#include <caf/all.hpp>

#include "messages/bytes.hpp"
#include "router/router_state.hpp"

namespace tt::router::detail {
namespace {

void on_probe_chunk(self_ptr self, const msg::token_chunk& c) {
  auto& st = self->state;
  if (!c.final) return;
  st.probe_wire = 0;
  if (c.finish == msg::finish_reason::length || c.finish == msg::finish_reason::stop)
    st.status->last_probe_ok_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock::now().time_since_epoch()).count();
}

// The sequence of `id` goes to another context actor with prompt + tokens so far.
void migrate(self_ptr self, uint64_t id) {
  auto& st = self->state;
  auto& r = st.reqs.at(id);
  st.by_wire.erase(r.wire_id);
  r.backend.reset();
  r.wire_id = 0;
  if (static_cast<int32_t>(r.produced.size()) >= r.sub->generation.max_tokens) {
    GenerationEvent e;
    e.kind = EventKind::finished;
    e.finish = msg::finish_reason::length;
    e.denoiser_forwards = r.df;
    e.context_forwards = r.cf;
    const SubmissionPtr sub = r.sub;
    finish(self, id, names::outcome::ok);  // counted before the client can see the end
    sub->sink(std::move(e));
    return;
  }
  r.df_base = r.df;
  r.cf_base = r.cf;
  st.m->migrations.inc();
  st.queue.push_front(id);
}

}  // namespace

void on_chunk(self_ptr self, const msg::token_chunk& c) {
  auto& st = self->state;
  if (c.request_id == st.probe_wire && st.probe_wire != 0) return on_probe_chunk(self, c);
  const auto w = st.by_wire.find(c.request_id);
  if (w == st.by_wire.end()) return;  // cancelled, expired or migrated away
  const uint64_t id = w->second;
  auto& r = st.reqs.at(id);
  auto tokens = msg::unpack_int32(c.tokens, "token_chunk.tokens");
  if (!tokens) return fail(self, id, 502, "server_error", "bad_upstream", tokens.error, names::outcome::error);
  const auto now = clock::now();
  r.df = r.df_base + c.denoiser_forwards;
  r.cf = r.cf_base + c.context_forwards;
  if (!tokens.value.empty()) {
    const double since = std::chrono::duration<double>(now - (r.got_tokens ? r.last_chunk : r.sub->generation.arrival)).count();
    if (r.got_tokens) st.m->inter_token_latency.observe(since / static_cast<double>(tokens.value.size()));
    else st.m->time_to_first_token.observe(since);
    r.got_tokens = true;
    r.last_chunk = now;
    st.m->generation_tokens.inc(tokens.value.size());
    r.produced.insert(r.produced.end(), tokens.value.begin(), tokens.value.end());
  }
  GenerationEvent e;
  e.received = now;
  e.ingress_s = r.ingress_s;
  e.tokens = std::move(tokens.value);
  e.denoiser_forwards = r.df;
  e.context_forwards = r.cf;
  if (!c.final) {
    if (!e.tokens.empty()) r.sub->sink(std::move(e));
    return;
  }
  switch (c.finish) {
    case msg::finish_reason::length:
    case msg::finish_reason::stop: {
      e.kind = EventKind::finished;
      e.finish = c.finish;
      st.m->request_duration.observe(std::chrono::duration<double>(now - r.sub->generation.arrival).count());
      if (r.sub->generation.mode == msg::request_mode::diffusion && r.df > 0)
        st.m->router_tokens_per_forward.observe(static_cast<double>(r.produced.size()) / r.df);
      const SubmissionPtr sub = r.sub;
      finish(self, id, names::outcome::ok);  // counted before the client can see the end
      return sub->sink(std::move(e));
    }
    case msg::finish_reason::running:
    case msg::finish_reason::cancelled:
      return fail(self, id, 502, "server_error", "cancelled_upstream", "the context actor cancelled the request",
                  names::outcome::error);
  }
}

void on_error(self_ptr self, const msg::request_error& e) {
  auto& st = self->state;
  if (e.request_id == st.probe_wire && st.probe_wire != 0) {
    st.probe_wire = 0;
    return;
  }
  const auto w = st.by_wire.find(e.request_id);
  if (w == st.by_wire.end()) return;
  const uint64_t id = w->second;
  switch (e.code) {
    case msg::error_code::bad_request:
      return fail(self, id, 400, "invalid_request_error", "bad_request", e.message, names::outcome::error);
    case msg::error_code::deadline:
      return fail(self, id, 504, "timeout", "deadline_exceeded", e.message, names::outcome::deadline);
    case msg::error_code::overloaded:
      return fail(self, id, 503, "server_error", "overloaded", e.message, names::outcome::error);
    case msg::error_code::internal:
      return fail(self, id, 500, "server_error", "internal", e.message, names::outcome::error);
    case msg::error_code::peer_down:
      return fail(self, id, 502, "server_error", "peer_down", e.message, names::outcome::error);
  }
  fail(self, id, 502, "server_error", "unknown_error", e.message, names::outcome::error);
}

void on_down(self_ptr self, const caf::down_msg& d) {
  auto& st = self->state;
  const auto b = st.backend_of.find(d.source);
  if (b == st.backend_of.end()) return;
  const size_t index = b->second;
  st.backend_of.erase(b);
  st.backends[index].up = false;
  st.backends[index].in_flight = 0;
  (*st.connected)[index] = false;  // the connector tries again
  if (st.status->backends_up > 0) st.status->backends_up--;
  st.policy->forget(index);
  st.m->peer_events.with({{"role", names::role::context}, {"event", names::event::down}}).inc();
  std::vector<uint64_t> lost;
  for (auto& [id, r] : st.reqs)
    if (r.backend == index) lost.push_back(id);
  // Re-queued at the front, oldest first.
  for (auto it = lost.rbegin(); it != lost.rend(); ++it) migrate(self, *it);
  std::fprintf(stderr, "twotower router: context %zu went down; migrating %zu request(s)\n", index, lost.size());
  dispatch_queue(self);
}

void on_tick(self_ptr self) {
  auto& st = self->state;
  const auto now = clock::now();
  for (size_t i = 0; i < st.backends.size(); ++i) {
    if (!st.backends[i].up) continue;
    self->request(st.backends[i].hdl, std::chrono::seconds(2), msg::load_atom::value)
        .then([=](const msg::load_report& r) { self->state.backends[i].reported = r.active_blocks + r.queued_blocks; },
              [](caf::error&) {});
  }
  if (st.probe_wire != 0 && now - st.probe_sent > kProbeTimeout) st.probe_wire = 0;
  if (st.probe_wire == 0 && now >= st.next_probe && st.status->backends_up > 0) {
    // A 1-token diffusion request: a real forward through a context tower and a denoiser.
    for (size_t k = 0; k < st.backends.size(); ++k) {
      const size_t i = (st.probe_rr + k) % st.backends.size();
      if (!st.backends[i].up) continue;
      st.probe_rr = i + 1;
      msg::generate_request w;
      w.request_id = st.probe_wire = st.next_wire++;
      const int32_t token = 1;
      w.prompt_tokens = msg::pack_int32(std::span<const int32_t>(&token, 1));
      w.mode = msg::request_mode::diffusion;
      w.max_tokens = 1;
      w.gamma = 0.8f;
      w.block_size = 4;
      w.steps = 1;
      w.deadline_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               (std::chrono::system_clock::now() + kProbeTimeout).time_since_epoch())
                               .count();
      self->send(st.backends[i].hdl, std::move(w), caf::actor_cast<msg::client_actor>(self));
      st.probe_sent = now;
      st.next_probe = now + st.opt.probe_interval;
      break;
    }
  }
  self->delayed_send(self, kTick, tick_atom::value);
}

}  // namespace tt::router::detail
