// Context actor behavior: decode, delegate to ContextCore, schedule blocks, reply.
#include "actors/context_actor.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <set>

#include <caf/all.hpp>

#include "actors/actor_metrics.hpp"
#include "actors/block_wire.hpp"
#include "actors/cache_transport.hpp"
#include "messages/engine_bridge.hpp"
#include "model/context_core.hpp"
#include "model/error.hpp"
#include "monitoring/names.hpp"

namespace tt::actors {
namespace {

constexpr int kMaxAttempts = 4;  // sends of one job before its sequence fails

int64_t now_unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

struct ContextState {
  struct Denoiser {
    msg::denoiser_actor hdl;
    Peer peer;
    msg::cache_transport transport = msg::cache_transport::inline_bytes;
    uint32_t load = 0;  // jobs sent and not answered
  };
  struct Sequence {
    msg::client_actor client;
    uint64_t request_id = 0;
    size_t streamed = 0;  // tokens sent to the client so far
    uint64_t sticky = 0;  // denoiser key, 0 = none yet
  };
  struct Job {
    BlockJob job;
    uint64_t denoiser = 0;  // key of the denoiser refining it, 0 = queued
    uint64_t token = 0;     // in-process lease, 0 = none
    int attempts = 0;
  };

  const Model* model = nullptr;
  ContextOptions options;
  std::unique_ptr<ContextCore> core;
  CacheShape shape;
  Peer self_peer;
  std::map<uint64_t, Denoiser> denoisers;  // by key
  std::map<caf::actor_addr, uint64_t> denoiser_keys;
  uint64_t next_key = 1;
  std::set<caf::actor_addr> greeted;  // sent an accepted hello
  std::map<uint64_t, Sequence> seqs;  // by ContextCore sequence id
  std::map<caf::actor_addr, size_t> clients;  // monitored clients, live sequences each
  std::map<uint64_t, Job> jobs;
  std::deque<uint64_t> queued;
  LeaseBook book;
  bool step_pending = false;
  ContextMetrics metrics;
};

using self_ptr = context_impl::stateful_pointer<ContextState>;

void handle_events(self_ptr self, const ContextEvents& ev);

void send_error(self_ptr self, const msg::client_actor& client, uint64_t request_id, msg::error_code code,
                std::string message) {
  if (client) self->send(client, msg::request_error{request_id, code, std::move(message)});
}

// What the core gets back for a job no denoiser will answer (it frees the cache).
JobResult no_result(uint64_t job_id, uint64_t sequence) {
  JobResult r;
  r.job_id = job_id;
  r.sequence_id = sequence;
  return r;
}

void release_lease(ContextState::Job& j) {
  if (j.token != 0) in_process::erase(j.token);
  j.token = 0;
}

// Forgets a sequence on this side (ContextCore already released or cancelled it).
void forget(self_ptr self, uint64_t id) {
  auto& st = self->state;
  auto it = st.seqs.find(id);
  if (it == st.seqs.end()) return;
  st.metrics.forgotten(id, *st.core);
  for (uint64_t key : st.book.forget_sequence(id))
    if (auto d = st.denoisers.find(key); d != st.denoisers.end())
      caf::anon_send(caf::actor_cast<caf::actor>(d->second.hdl), msg::release_handle{id, 0});
  const auto addr = it->second.client.address();
  if (auto c = st.clients.find(addr); c != st.clients.end() && --c->second == 0) {
    self->demonitor(addr);
    st.clients.erase(c);
  }
  st.seqs.erase(it);
}

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

void kick(self_ptr self) {
  auto& st = self->state;
  if (!st.step_pending && st.core->has_work()) {
    st.step_pending = true;
    self->send(self, step_atom::value);
  }
}

uint64_t pick_denoiser(ContextState& st, uint64_t sequence) {
  auto s = st.seqs.find(sequence);
  if (s != st.seqs.end() && s->second.sticky != 0 && st.denoisers.count(s->second.sticky)) return s->second.sticky;
  uint64_t best = 0;
  uint32_t best_load = UINT32_MAX;
  for (auto& [key, d] : st.denoisers)
    if (d.load < best_load) best = key, best_load = d.load;
  if (best != 0 && s != st.seqs.end()) s->second.sticky = best;
  return best;
}

void on_committed(self_ptr self, uint64_t key, uint64_t job_id, msg::block_committed& bc);
void on_job_error(self_ptr self, uint64_t key, uint64_t job_id, const caf::error& err);

void dispatch(self_ptr self, uint64_t job_id) {
  auto& st = self->state;
  auto& j = st.jobs.at(job_id);
  const uint64_t seq = j.job.sequence_id;
  const uint64_t key = pick_denoiser(st, seq);
  if (key == 0) {
    j.denoiser = 0;
    st.queued.push_back(job_id);
    if (st.options.log_blocks)
      std::fprintf(stderr, "twotower context: no denoiser: job %llu of sequence %llu queued\n",
                   static_cast<unsigned long long>(job_id), static_cast<unsigned long long>(seq));
    return;
  }
  auto& d = st.denoisers.at(key);
  if (++j.attempts > kMaxAttempts) {
    const auto& s = st.seqs.at(seq);
    abort_sequence(self, seq, false,
                   msg::request_error{s.request_id, msg::error_code::peer_down,
                                      "block " + std::to_string(j.job.block.block_index) + " failed on " +
                                          std::to_string(kMaxAttempts) + " denoisers"});
    return;
  }
  auto handle = make_handle(j.job.seed, st.shape, st.self_peer, seq, d.transport, st.book.epoch_of(key, seq));
  if (handle.transport == msg::cache_transport::inline_bytes) st.book.record(key, seq, handle.epoch);
  if (st.options.log_blocks)
    std::fprintf(stderr, "twotower context: job %llu of sequence %llu (epoch %llu, %zu K/V bytes) sent to denoiser %llu\n",
                 static_cast<unsigned long long>(job_id), static_cast<unsigned long long>(seq),
                 static_cast<unsigned long long>(handle.epoch), handle.kv_delta.size(),
                 static_cast<unsigned long long>(key));
  j.token = handle.in_process_token;
  j.denoiser = key;
  d.load++;
  st.metrics.block_sent(job_id, seq);
  self->request(d.hdl, caf::infinite, to_wire(j.job, std::move(handle)))
    .then([=](msg::block_committed& bc) { on_committed(self, key, job_id, bc); },
          [=](caf::error& err) { on_job_error(self, key, job_id, err); });
}

void drain_queue(self_ptr self) {
  auto& st = self->state;
  std::deque<uint64_t> waiting;
  waiting.swap(st.queued);
  for (uint64_t id : waiting)
    if (st.jobs.count(id)) dispatch(self, id);
}

// Takes the job back from denoiser `key`; false when it is not (any more) there.
bool take_back(ContextState& st, uint64_t key, uint64_t job_id) {
  auto it = st.jobs.find(job_id);
  if (it == st.jobs.end() || it->second.denoiser != key) return false;  // stale: re-sent elsewhere
  it->second.denoiser = 0;
  release_lease(it->second);
  if (auto d = st.denoisers.find(key); d != st.denoisers.end() && d->second.load > 0) d->second.load--;
  return true;
}

void on_committed(self_ptr self, uint64_t key, uint64_t job_id, msg::block_committed& bc) {
  auto& st = self->state;
  if (!take_back(st, key, job_id)) return;
  JobResult r;
  std::string error;
  if (!from_wire(bc, r, error) || r.sequence_id != st.jobs.at(job_id).job.sequence_id) {
    on_job_error(self, 0, job_id, caf::make_error(caf::sec::invalid_argument, error));
    return;
  }
  st.jobs.erase(job_id);
  st.metrics.block_committed(job_id);
  if (st.options.log_blocks)
    std::fprintf(stderr, "twotower context: job %llu committed by denoiser %llu\n",
                 static_cast<unsigned long long>(job_id), static_cast<unsigned long long>(key));
  try {
    handle_events(self, st.core->on_result(r));
  } catch (const std::exception& e) {
    fail_all(self, std::string("context: ") + e.what());
  }
}

void on_job_error(self_ptr self, uint64_t key, uint64_t job_id, const caf::error& err) {
  auto& st = self->state;
  if (key != 0 && !take_back(st, key, job_id)) return;
  auto& j = st.jobs.at(job_id);
  const uint64_t seq = j.job.sequence_id;
  std::fprintf(stderr, "twotower context: denoiser %llu failed job %llu: %s; re-sending\n",
               static_cast<unsigned long long>(key), static_cast<unsigned long long>(job_id),
               caf::to_string(err).c_str());
  st.book.record(key, seq, 0);  // its replica is gone or out of step: start over
  if (auto s = st.seqs.find(seq); s != st.seqs.end()) {
    s->second.sticky = 0;
    dispatch(self, job_id);
  } else {
    st.jobs.erase(job_id);
    st.core->on_result(no_result(job_id, seq));
  }
}

void stream(self_ptr self, uint64_t id, bool final) {
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
  self->send(s.client, c);
}

void handle_events(self_ptr self, const ContextEvents& ev) {
  auto& st = self->state;
  st.metrics.events(ev, *st.core);
  for (const BlockJob& job : ev.jobs) {
    st.jobs[job.job_id] = ContextState::Job{job};
    dispatch(self, job.job_id);
  }
  const std::set<uint64_t> finished(ev.finished.begin(), ev.finished.end());
  for (uint64_t id : ev.token_updates)
    if (!finished.count(id) && st.seqs.count(id)) stream(self, id, false);
  for (uint64_t id : ev.finished) {
    if (!st.seqs.count(id)) continue;
    stream(self, id, true);
    st.core->release(id);
    forget(self, id);
  }
  kick(self);
}

void on_down(self_ptr self, const caf::down_msg& dm) {
  auto& st = self->state;
  if (auto k = st.denoiser_keys.find(dm.source); k != st.denoiser_keys.end()) {
    const uint64_t key = k->second;
    st.denoiser_keys.erase(k);
    st.denoisers.erase(key);
    st.metrics.peer(mon::names::role::denoiser, mon::names::event::down);
    st.greeted.erase(dm.source);
    st.book.forget_lessee(key);
    for (auto& [id, s] : st.seqs)
      if (s.sticky == key) s.sticky = 0;
    std::vector<uint64_t> lost;
    for (auto& [id, j] : st.jobs)
      if (j.denoiser == key) lost.push_back(id);
    std::fprintf(stderr, "twotower context: denoiser %llu is down (%s); re-sending its %zu block(s)\n",
                 static_cast<unsigned long long>(key), caf::to_string(dm.reason).c_str(), lost.size());
    for (uint64_t id : lost) {
      auto& j = st.jobs.at(id);
      j.denoiser = 0;
      release_lease(j);
      const uint64_t seq = j.job.sequence_id;
      if (st.seqs.count(seq)) {
        dispatch(self, id);
      } else {
        st.jobs.erase(id);
        st.core->on_result(no_result(id, seq));
      }
    }
    return;
  }
  if (st.clients.count(dm.source)) {
    std::vector<uint64_t> ids;
    for (auto& [id, s] : st.seqs)
      if (s.client.address() == dm.source) ids.push_back(id);
    for (uint64_t id : ids) abort_sequence(self, id, false, std::nullopt);
  }
}

}  // namespace

context_impl spawn_context(caf::actor_system& sys, const Model& model, ContextOptions options) {
  return sys.spawn([&model, options](self_ptr self) -> context_impl::behavior_type {
    auto& st = self->state;
    st.model = &model;
    st.options = options;
    st.core = std::make_unique<ContextCore>(model);
    st.shape = CacheShape::of(model.config);
    st.self_peer = this_process();
    self->set_down_handler([=](caf::down_msg& dm) { on_down(self, dm); });
    return {
      [=](const msg::hello& h) -> msg::hello_ack {
        auto ack = msg::answer_hello(h);
        if (ack.accepted) self->state.greeted.insert(self->current_sender() ? self->current_sender()->address()
                                                                           : caf::actor_addr{});
        return ack;
      },
      [=](const msg::generate_request& r, const msg::client_actor& client) {
        auto& st = self->state;
        if (!client) return;
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
        st.seqs[id] = ContextState::Sequence{client, r.request_id};
        st.metrics.admitted(id, req.value.prompt.size());
        if (st.clients[client.address()]++ == 0) self->monitor(client);
        if (r.deadline_unix_ms > 0)
          self->delayed_send(self, std::chrono::milliseconds(r.deadline_unix_ms - now_unix_ms()),
                             deadline_atom::value, id);
        kick(self);
      },
      [=](const msg::score_request& r, const msg::client_actor& client) {
        if (!client) return;
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
        auto& st = self->state;
        if (!d) return {false, "register_denoiser without a denoiser handle"};
        if (!self->current_sender() || !st.greeted.count(self->current_sender()->address()))
          return {false, "register_denoiser before an accepted hello"};
        if (st.denoiser_keys.count(d.address())) return {true, ""};
        const uint64_t key = st.next_key++;
        Peer peer{r.node, r.pid};
        st.denoisers[key] = ContextState::Denoiser{d, peer, choose_transport(st.self_peer, peer)};
        st.denoiser_keys[d.address()] = key;
        self->monitor(d);
        st.metrics.peer(mon::names::role::denoiser, mon::names::event::up);
        std::fprintf(stderr, "twotower context: denoiser %llu registered (%s pid %llu, %s transport)\n",
                     static_cast<unsigned long long>(key), r.node.c_str(), static_cast<unsigned long long>(r.pid),
                     msg::to_string(st.denoisers[key].transport).c_str());
        drain_queue(self);
        return {true, ""};
      },
      [=](const msg::release_handle&) {
        // Leases end with block_committed (the job's lease) or with the lessee's death.
      },
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
      [=](deadline_atom, uint64_t id) {
        auto it = self->state.seqs.find(id);
        if (it == self->state.seqs.end()) return;
        abort_sequence(self, id, false,
                       msg::request_error{it->second.request_id, msg::error_code::deadline,
                                          "deadline passed after " +
                                              std::to_string(it->second.streamed) + " tokens"});
      },
    };
  });
}

}  // namespace tt::actors
