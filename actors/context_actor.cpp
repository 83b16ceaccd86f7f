// Context actor behavior: decode, delegate to ContextCore, stream, reply.
// Scheduling of block jobs to denoisers is in context_dispatch.cpp.
#include "actors/context_actor.hpp"

#include <algorithm>
#include <chrono>

#include <caf/all.hpp>

#include "actors/actor_metrics.hpp"
#include "actors/context_state.hpp"
#include "messages/engine_bridge.hpp"
#include "model/error.hpp"
#include "monitoring/names.hpp"

namespace tt::actors {
namespace {

int64_t now_unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

using self_ptr = context_self;

void send_error(self_ptr self, const msg::client_actor& client, uint64_t request_id, msg::error_code code,
                std::string message) {
  if (client) self->send(client, msg::request_error{request_id, code, std::move(message)});
}

// Forgets a sequence on this side (ContextCore already released or cancelled it).
void forget(self_ptr self, uint64_t id) {
  auto& st = self->state;
  auto it = st.seqs.find(id);
  if (it == st.seqs.end()) return;
  st.metrics.forgotten(id, *st.core);
  for (uint64_t key : st.book.forget_sequence(id))
    if (auto d = st.denoisers.find(key); d != st.denoisers.end())
      caf::anon_send(d->second.hdl, msg::release_handle{id, 0});
  st.segments->free(id);
  if (it->second.deadline) st.deadlines.remove(*it->second.deadline);
  const auto addr = it->second.client.address();
  if (auto c = st.clients.find(addr); c != st.clients.end() && --c->second == 0) {
    self->demonitor(addr);
    st.clients.erase(c);
  }
  st.seqs.erase(it);
}

}  // namespace

// Ends a sequence early (cancel, deadline, client gone, failure); `chunk` sends
// a final cancelled chunk, `error` a request_error instead (when set).
void abort_sequence(self_ptr self, uint64_t id, bool chunk, std::optional<msg::request_error> error) {
  auto& st = self->state;
  auto it = st.seqs.find(id);
  if (it == st.seqs.end()) return;
  const auto client = it->second.client;
  if (chunk) {
    const GenerateResult& r = st.core->result(id);
    msg::token_chunk c;
    c.request_id = it->second.request_id;
    c.committed_total = static_cast<uint32_t>(r.tokens.size());
    c.final = true;
    c.finish = msg::finish_reason::cancelled;
    c.denoiser_forwards = r.denoiser_forwards;
    c.context_forwards = r.context_forwards;
    c.committed_tokens = static_cast<uint32_t>(r.committed_tokens);
    self->send(client, c);
  }
  if (error) self->send(client, *error);
  st.metrics.aborted(id, outcome_of(error));
  st.core->cancel(id);
  // Queued jobs never reached a denoiser: hand them back so the core frees the cache.
  for (auto j = st.jobs.begin(); j != st.jobs.end();) {
    if (j->second.job.sequence_id == id && j->second.denoiser == 0) {
      const JobResult empty = no_result(j->first, id);
      st.queued.erase(std::remove(st.queued.begin(), st.queued.end(), j->first), st.queued.end());
      j = st.jobs.erase(j);
      st.core->on_result(empty);
    } else {
      ++j;
    }
  }
  forget(self, id);
}

void fail_all(self_ptr self, const std::string& why) {
  std::vector<uint64_t> ids;
  for (auto& [id, s] : self->state.seqs) ids.push_back(id);
  for (uint64_t id : ids) {
    const auto& s = self->state.seqs.at(id);
    abort_sequence(self, id, false, msg::request_error{s.request_id, msg::error_code::internal, why});
  }
}

namespace {

void arm_deadlines(self_ptr self) {
  if (const auto first = self->state.deadlines.arm())
    self->delayed_send(self, std::chrono::milliseconds(std::max<int64_t>(0, *first - now_unix_ms())),
                       deadline_atom::value);
}

// Ends every sequence whose deadline has passed, then re-arms.
void on_deadlines(self_ptr self) {
  auto& st = self->state;
  for (const uint64_t id : st.deadlines.due(now_unix_ms())) {
    auto it = st.seqs.find(id);
    if (it == st.seqs.end()) continue;
    abort_sequence(self, id, false,
                   msg::request_error{it->second.request_id, msg::error_code::deadline,
                                      "deadline passed after " + std::to_string(it->second.streamed) + " tokens"});
  }
  arm_deadlines(self);
}

void kick(self_ptr self) {
  auto& st = self->state;
  if (!st.step_pending && st.core->has_work()) {
    st.step_pending = true;
    self->send(self, step_atom::value);
  }
}

// Chunks for clients that take token_chunks, gathered over one step; flushed
// as one message per client.
using Batches = std::map<caf::actor_addr, std::pair<msg::client_actor, msg::token_chunks>>;

void flush(self_ptr self, Batches& batches) {
  for (auto& [addr, b] : batches) {
    if (b.second.chunks.size() == 1) self->send(b.first, std::move(b.second.chunks.front()));
    else self->send(b.first, std::move(b.second));
  }
  batches.clear();
}

void stream(self_ptr self, uint64_t id, bool final, Batches& batches) {
  auto& st = self->state;
  auto& s = st.seqs.at(id);
  const GenerateResult& r = st.core->result(id);
  msg::token_chunk c;
  c.request_id = s.request_id;
  st.metrics.streamed(id, r.tokens.size() - s.streamed, final);
  c.tokens = msg::pack_int32(std::span<const int32_t>(r.tokens).subspan(s.streamed));
  s.streamed = r.tokens.size();
  c.committed_total = static_cast<uint32_t>(r.tokens.size());
  c.final = final;
  c.finish = final ? msg::to_wire(r.finish) : msg::finish_reason::running;
  c.denoiser_forwards = r.denoiser_forwards;
  c.context_forwards = r.context_forwards;
  c.committed_tokens = static_cast<uint32_t>(r.committed_tokens);
  if (!s.batch) return self->send(s.client, c);
  auto& b = batches[s.client.address()];
  b.first = s.client;
  b.second.chunks.push_back(std::move(c));
}

}  // namespace

void handle_events(self_ptr self, const ContextEvents& ev) {
  auto& st = self->state;
  st.metrics.events(ev, *st.core);
  for (const BlockJob& job : ev.jobs) {
    ContextState::Job j;
    j.job = job;
    st.jobs[job.job_id] = std::move(j);
    dispatch(self, job.job_id);
  }
  const std::set<uint64_t> finished(ev.finished.begin(), ev.finished.end());
  Batches batches;
  for (uint64_t id : ev.token_updates)
    if (!finished.count(id) && st.seqs.count(id)) stream(self, id, false, batches);
  for (uint64_t id : ev.finished) {
    if (!st.seqs.count(id)) continue;
    stream(self, id, true, batches);
    st.core->release(id);
    forget(self, id);
  }
  flush(self, batches);
  kick(self);
}

namespace {

// A request whose client handle did not survive the transport cannot be answered: said once per
// request, so a client that waits in vain has a line to match.
void no_client(uint64_t request_id) {
  std::fprintf(stderr, "twotower context: request %llu arrived without its client handle: dropped\n",
               static_cast<unsigned long long>(request_id));
}

void on_down(self_ptr self, const caf::down_msg& dm) {
  auto& st = self->state;
  if (on_denoiser_down(self, dm)) return;
  if (st.clients.count(dm.source)) {
    std::vector<uint64_t> ids;
    for (auto& [id, s] : st.seqs)
      if (s.client.address() == dm.source) ids.push_back(id);
    for (uint64_t id : ids) abort_sequence(self, id, false, std::nullopt);
  }
}

}  // namespace

context_impl spawn_context(caf::actor_system& sys, const Model& model, ContextOptions options) {
  // Before the spawn returns (the actor's body runs later, on a scheduler thread): a context that
  // prints "listening on" has already removed what dead processes left behind.
  if (const size_t stale = shm::remove_stale_objects())
    std::fprintf(stderr, "twotower context: removed %zu shared memory object(s) of dead processes\n", stale);
  return sys.spawn([&model, options](self_ptr self) -> context_impl::behavior_type {
    auto& st = self->state;
    st.model = &model;
    st.options = options;
    st.core = std::make_unique<ContextCore>(model, /*external_denoisers=*/true);
    st.core->defer_host_sync();  // publish() syncs for host transports; cuda_ipc reads the device cache
    st.shape = CacheShape::of(model.config);
    st.self_peer = this_process();
    st.self_peer.device = st.core->device();
    st.self_peer.nccl = st.self_peer.device >= 0 && static_cast<bool>(installed_channel_factory());
    st.segments = std::make_unique<shm::SegmentTable>(st.self_peer, st.shape);
    self->set_down_handler([=](caf::down_msg& dm) { on_down(self, dm); });
    return {
      [=](const msg::hello& h) -> msg::hello_ack {
        auto ack = msg::answer_hello(h);
        if (!self->current_sender())  // CAF 0.17 can lose it while many nodes connect; clients say hello again
          std::fprintf(stderr, "twotower context: a hello from %s pid %u arrived without its sender: no answer\n",
                       h.role.c_str(), static_cast<uint32_t>(h.pid));  // the pid without its namespace
        if (ack.accepted) self->state.greeted.insert(self->current_sender() ? self->current_sender()->address()
                                                                           : caf::actor_addr{});
        return ack;
      },
      [=](const msg::generate_request& r, const msg::client_actor& client) {
        auto& st = self->state;
        if (!client) return no_client(r.request_id);
        auto req = msg::to_engine_request(r);
        if (!req) return send_error(self, client, r.request_id, msg::error_code::bad_request, req.error);
        if (r.deadline_unix_ms > 0 && r.deadline_unix_ms <= now_unix_ms())
          return send_error(self, client, r.request_id, msg::error_code::deadline,
                            "the deadline passed before the request arrived");
        uint64_t id = 0;
        try {
          id = st.core->submit(req.value);
        } catch (const std::exception& e) {
          return send_error(self, client, r.request_id, msg::error_code::bad_request, e.what());
        }
        auto& seq = st.seqs[id];
        seq.client = client;
        seq.request_id = r.request_id;
        seq.batch = r.batch_chunks;
        st.metrics.admitted(id, req.value.prompt.size());
        if (st.clients[client.address()]++ == 0) self->monitor(client);
        if (r.deadline_unix_ms > 0) {
          st.seqs[id].deadline = st.deadlines.add(r.deadline_unix_ms, id);
          arm_deadlines(self);
        }
        kick(self);
      },
      [=](const msg::score_request& r, const msg::client_actor& client) {
        if (!client) return no_client(r.request_id);
        auto prompt = msg::unpack_int32(r.prompt_tokens, "score_request.prompt_tokens");
        auto cont = msg::unpack_int32(r.continuation_tokens, "score_request.continuation_tokens");
        if (!prompt || !cont)
          return send_error(self, client, r.request_id, msg::error_code::bad_request,
                            prompt ? cont.error : prompt.error);
        try {
          ScoreResult s = self->state.core->score(prompt.value, cont.value);
          self->send(client, msg::score_result{r.request_id, s.logprob, msg::pack_float64(s.token_logprobs)});
        } catch (const std::exception& e) {
          send_error(self, client, r.request_id, msg::error_code::bad_request, e.what());
        }
      },
      [=](const msg::cancel_request& r, const msg::client_actor& client) {
        for (auto& [id, s] : self->state.seqs)
          if (s.request_id == r.request_id && s.client == client) return abort_sequence(self, id, true, std::nullopt);
      },
      [=](const msg::register_denoiser& r, const msg::denoiser_actor& d) -> msg::hello_ack {
        return add_denoiser(self, r, d);
      },
      [=](const msg::release_handle&) {
        // Leases end with block_committed (the job's lease) or with the lessee's death.
      },
      [=](msg::stats_atom) -> msg::context_stats { return stats_of(self->state); },
      [=](msg::load_atom) -> msg::load_report {
        auto& st = self->state;
        return {static_cast<uint32_t>(st.seqs.size()), static_cast<uint32_t>(st.queued.size())};
      },
      [=](step_atom) {
        auto& st = self->state;
        st.step_pending = false;
        try {
          handle_events(self, st.core->step());
        } catch (const std::exception& e) {
          fail_all(self, std::string("context: ") + e.what());
        }
      },
      [=](deadline_atom) { on_deadlines(self); },
      [=](nccl_joined_atom, uint64_t key) { on_nccl_joined(self, key); },
    };
  });
}

}  // namespace tt::actors
