// The context actor's scheduling of block jobs: least-loaded denoiser, sticky
// per sequence; the cache handle over the pair's transport; re-sends when a
// denoiser fails or goes down; cost figures per transport.
#include <algorithm>
#include <cstdio>

#include <caf/all.hpp>

#include "actors/block_wire.hpp"
#include "actors/context_state.hpp"
#include "monitoring/names.hpp"

namespace tt::actors {
namespace {

constexpr int kMaxAttempts = 4;  // sends of one job before its sequence fails

uint64_t ns_since(std::chrono::steady_clock::time_point t) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t).count());
}

template <class T>
uint64_t wire_size(caf::actor_system& sys, T& x) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  return sink(x) ? 0 : buf.size();
}

msg::transport_stats& stats_for(ContextState& st, msg::cache_transport t) {
  auto& s = st.stats[t];
  s.transport = t;
  return s;
}

// Sticky per sequence; otherwise the least loaded ready denoiser, preferring
// those that have not failed this job already.
uint64_t pick_denoiser(ContextState& st, const ContextState::Job& j) {
  const uint64_t sequence = j.job.sequence_id;
  auto s = st.seqs.find(sequence);
  if (s != st.seqs.end() && s->second.sticky != 0 && st.denoisers.count(s->second.sticky)) return s->second.sticky;
  uint64_t best = 0;
  std::pair<bool, uint32_t> best_rank{true, UINT32_MAX};
  for (auto& [key, d] : st.denoisers) {
    if (!d.ready) continue;
    const std::pair<bool, uint32_t> rank{j.failed_on.count(key) != 0, d.load};
    if (rank < best_rank) best = key, best_rank = rank;
  }
  if (best != 0 && s != st.seqs.end()) s->second.sticky = best;
  return best;
}

// The handle of job `j` for denoiser `key` over its transport. Host transports
// read the job's seed in host memory, synced from a GPU context first.
msg::cache_handle publish(ContextState& st, uint64_t key, ContextState::Job& j) {
  const auto& d = st.denoisers.at(key);
  const uint64_t seq = j.job.sequence_id;
  if (d.transport == msg::cache_transport::nccl) {  // the bytes follow over the channel (send_rows)
    auto h = nccl_handle(static_cast<uint64_t>(j.job.seed.length), st.self_peer.device, st.shape, st.self_peer, seq,
                         st.book.epoch_of(key, seq));
    st.book.record(key, seq, h.epoch);
    return h;
  }
  if (d.transport == msg::cache_transport::cuda_ipc) {
    DeviceRegion region;
    if (st.core->export_region(seq, region)) return region_handle(region, st.shape, st.self_peer, seq);
    std::fprintf(stderr, "twotower context: sequence %llu has no device cache to export; sending it as bytes\n",
                 static_cast<unsigned long long>(seq));
  }
  j.job.seed = st.core->host_seed(seq);
  if (d.transport == msg::cache_transport::shared_memory) {
    msg::cache_handle h = handle_header(static_cast<uint64_t>(j.job.seed.length), st.shape, st.self_peer, seq);
    std::string error;
    if (st.segments->publish(j.job.seed, seq, h, error)) return h;
    std::fprintf(stderr, "twotower context: shared memory failed (%s); sending sequence %llu's cache as bytes\n",
                 error.c_str(), static_cast<unsigned long long>(seq));
  }
  const auto t = d.transport == msg::cache_transport::in_process ? d.transport : msg::cache_transport::inline_bytes;
  auto h = make_handle(j.job.seed, st.shape, st.self_peer, seq, t, st.book.epoch_of(key, seq));
  if (h.transport == msg::cache_transport::inline_bytes) st.book.record(key, seq, h.epoch);
  return h;
}

// The denoiser's channel broke or its setup failed: its blocks travel as bytes from now on.
void nccl_fallback(ContextState& st, uint64_t key, const std::string& why) {
  auto& d = st.denoisers.at(key);
  std::fprintf(stderr, "twotower context: NCCL channel to denoiser %llu: %s; its caches travel as bytes\n",
               static_cast<unsigned long long>(key), why.c_str());
  if (d.channel) d.channel->abort();
  d.channel.reset();
  d.join.reset();
  d.transport = msg::cache_transport::inline_bytes;
  d.ready = true;
  st.book.forget_lessee(key);  // its mirror and our book restart from row 0
}

// Both sides of denoiser `key`'s channel join have ended: ready, or bytes instead.
void nccl_settle(context_self self, uint64_t key) {
  auto& st = self->state;
  auto it = st.denoisers.find(key);
  if (it == st.denoisers.end() || it->second.ready) return;
  auto& d = it->second;
  if (!d.peer_joined || !d.join || !d.join->done()) return;
  std::string error;
  d.channel = d.join->take(error);
  if (!d.channel) {
    nccl_fallback(st, key, "our join failed: " + error);
  } else if (!d.peer_joined->empty()) {
    nccl_fallback(st, key, "the denoiser's join failed: " + *d.peer_joined);
  } else {
    d.join.reset();
    d.ready = true;
    std::fprintf(stderr, "twotower context: NCCL channel to denoiser %llu joined\n",
                 static_cast<unsigned long long>(key));
  }
  drain_queue(self);
}

// Starts the NCCL channel of a denoiser registered with the nccl transport: rank 0
// here (on a thread), rank 1 there (nccl_join).
void start_nccl(context_self self, uint64_t key) {
  auto& st = self->state;
  auto& d = st.denoisers.at(key);
  const ChannelFactory& factory = installed_channel_factory();
  std::string id;
  try {
    id = factory.new_id();
  } catch (const std::exception& e) {
    return nccl_fallback(st, key, e.what());
  }
  d.ready = false;
  auto me = caf::actor_cast<context_impl>(self);
  d.join = ChannelJoin::start(factory, id, 0, [me, key] { caf::anon_send(me, nccl_joined_atom::value, key); });
  self->request(d.hdl, std::chrono::minutes(2), msg::nccl_join{id})
    .then(
      [=](const msg::hello_ack& ack) {
        if (auto it = self->state.denoisers.find(key); it != self->state.denoisers.end())
          it->second.peer_joined = ack.accepted ? "" : ack.reason;
        nccl_settle(self, key);
      },
      [=](caf::error& err) {
        if (auto it = self->state.denoisers.find(key); it != self->state.denoisers.end())
          it->second.peer_joined = caf::to_string(err);
        nccl_settle(self, key);
      });
}

// nccl: the job's K/V delta and Mamba state, posted after its handle went out.
void send_rows(ContextState& st, uint64_t key, uint64_t seq, uint64_t from) {
  auto& d = st.denoisers.at(key);
  try {
    if (!d.channel || !st.core->send_rows(seq, static_cast<int>(from), *d.channel))
      nccl_fallback(st, key, "sequence " + std::to_string(seq) + " has no device cache to send");
  } catch (const std::exception& e) {
    nccl_fallback(st, key, e.what());  // the denoiser's receive fails; its error re-sends the job as bytes
  }
}

// `taken_back`: take_back() already ran (a bad reply rather than an error).
void on_job_error(context_self self, uint64_t key, uint64_t job_id, const caf::error& err, bool taken_back = false);

// A denoiser's answer fits the job it was sent: same ids, as many tokens, each in the vocabulary.
bool check_result(const JobResult& r, const BlockJob& job, int vocab_size, std::string& error) {
  if (r.sequence_id != job.sequence_id || r.job_id != job.job_id)
    return error = "block_committed names another job or sequence", false;
  if (r.tokens.size() != job.block.tokens.size())
    return error = "block_committed has " + std::to_string(r.tokens.size()) + " tokens, the block has " +
                   std::to_string(job.block.tokens.size()),
           false;
  for (int32_t t : r.tokens)
    if (t < 0 || t >= vocab_size) return error = "block_committed token " + std::to_string(t) + " is out of range", false;
  return true;
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

void on_committed(context_self self, uint64_t key, uint64_t job_id, msg::block_committed& bc) {
  auto& st = self->state;
  if (!take_back(st, key, job_id)) return;
  auto& j = st.jobs.at(job_id);
  auto& s = stats_for(st, j.transport);
  s.committed++;
  s.round_trip_ns += ns_since(j.sent);
  s.committed_message_bytes += wire_size(self->system(), bc);
  JobResult r;
  std::string error;
  if (!from_wire(bc, r, error) || !check_result(r, j.job, st.model->config.vocab_size, error)) {
    on_job_error(self, key, job_id, caf::make_error(caf::sec::invalid_argument, "bad block: " + error), true);
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

void on_job_error(context_self self, uint64_t key, uint64_t job_id, const caf::error& err, bool taken_back) {
  auto& st = self->state;
  if (!taken_back && !take_back(st, key, job_id)) return;
  auto& j = st.jobs.at(job_id);
  const uint64_t seq = j.job.sequence_id;
  std::fprintf(stderr, "twotower context: denoiser %llu failed job %llu: %s; re-sending\n",
               static_cast<unsigned long long>(key), static_cast<unsigned long long>(job_id),
               caf::to_string(err).c_str());
  st.book.record(key, seq, 0);  // its replica is gone or out of step: start over
  j.failed_on.insert(key);
  if (auto d = st.denoisers.find(key); d != st.denoisers.end() && d->second.transport == msg::cache_transport::nccl &&
                                       j.transport == msg::cache_transport::nccl)
    nccl_fallback(st, key, "a block sent over it failed (" + caf::to_string(err) + ")");
  if (auto s = st.seqs.find(seq); s != st.seqs.end()) {
    s->second.sticky = 0;
    dispatch(self, job_id);
  } else {
    st.jobs.erase(job_id);
    st.core->on_result(no_result(job_id, seq));
  }
}

}  // namespace

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

void dispatch(context_self self, uint64_t job_id) {
  auto& st = self->state;
  auto& j = st.jobs.at(job_id);
  const uint64_t seq = j.job.sequence_id;
  const uint64_t key = pick_denoiser(st, j);
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
  const auto t0 = std::chrono::steady_clock::now();
  const uint64_t shm_before = st.segments->bytes_written();
  auto handle = publish(st, key, j);
  auto& s = stats_for(st, handle.transport);
  s.publish_ns += ns_since(t0);
  s.shm_bytes_written += st.segments->bytes_written() - shm_before;
  s.blocks++;
  s.kv_bytes += handle.kv_delta.size();
  s.mamba_bytes += handle.mamba_state.size();
  if (st.options.log_blocks)
    std::fprintf(stderr,
                 "twotower context: job %llu of sequence %llu (epoch %llu, %s, %zu K/V bytes) sent to denoiser %llu\n",
                 static_cast<unsigned long long>(job_id), static_cast<unsigned long long>(seq),
                 static_cast<unsigned long long>(handle.epoch), msg::to_string(handle.transport).c_str(),
                 handle.kv_delta.size(), static_cast<unsigned long long>(key));
  j.token = handle.in_process_token;
  j.denoiser = key;
  j.transport = handle.transport;
  const uint64_t rows_from = handle.delta_from_epoch;
  d.load++;
  st.metrics.block_sent(job_id, seq);
  auto m = to_wire(j.job, std::move(handle));
  {
    // The message without its cache payload: what every block costs on top of the cache bytes.
    msg::bytes kv, mamba;
    kv.swap(m.handle.kv_delta);
    mamba.swap(m.handle.mamba_state);
    s.block_message_bytes += wire_size(self->system(), m);
    kv.swap(m.handle.kv_delta);
    mamba.swap(m.handle.mamba_state);
  }
  j.sent = std::chrono::steady_clock::now();
  self->request(d.hdl, caf::infinite, std::move(m))
    .then([=](msg::block_committed& bc) { on_committed(self, key, job_id, bc); },
          [=](caf::error& err) { on_job_error(self, key, job_id, err); });
  if (j.transport == msg::cache_transport::nccl) send_rows(st, key, seq, rows_from);
}

void drain_queue(context_self self) {
  auto& st = self->state;
  std::deque<uint64_t> waiting;
  waiting.swap(st.queued);
  for (uint64_t id : waiting)
    if (st.jobs.count(id)) dispatch(self, id);
}

msg::hello_ack add_denoiser(context_self self, const msg::register_denoiser& r, const msg::denoiser_actor& d) {
  auto& st = self->state;
  if (!d) return {false, "register_denoiser without a denoiser handle"};
  if (!self->current_sender() || !st.greeted.count(self->current_sender()->address()))
    return {false, "register_denoiser before an accepted hello"};
  if (st.denoiser_keys.count(d.address())) return {true, ""};
  Peer peer{r.node, r.pid, r.device, r.nccl};
  msg::cache_transport transport{};
  std::string error;
  if (!choose_transport(st.self_peer, peer, st.options.transport, transport, error)) return {false, error};
  const uint64_t key = st.next_key++;
  auto& added = st.denoisers[key];
  added.hdl = d;
  added.peer = peer;
  added.transport = transport;
  st.denoiser_keys[d.address()] = key;
  self->monitor(d);
  st.metrics.peer(mon::names::role::denoiser, mon::names::event::up);
  std::fprintf(stderr, "twotower context: denoiser %llu registered (%s pid %llu, %s transport)\n",
               static_cast<unsigned long long>(key), r.node.c_str(), static_cast<unsigned long long>(os_pid(r.pid)),
               msg::to_string(transport).c_str());
  if (transport == msg::cache_transport::nccl) start_nccl(self, key);
  drain_queue(self);
  return {true, ""};
}

bool on_denoiser_down(context_self self, const caf::down_msg& dm) {
  auto& st = self->state;
  auto k = st.denoiser_keys.find(dm.source);
  if (k == st.denoiser_keys.end()) return false;
  const uint64_t key = k->second;
  st.denoiser_keys.erase(k);
  if (auto& ch = st.denoisers.at(key).channel) ch->abort();  // ends transfers stuck on the dead peer
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
  return true;
}

void on_nccl_joined(context_self self, uint64_t key) { nccl_settle(self, key); }

msg::context_stats stats_of(const ContextState& st) {
  msg::context_stats out;
  for (const auto& [t, s] : st.stats) out.transports.push_back(s);
  return out;
}

}  // namespace tt::actors
