// The context actor's state and the functions its two files share: the
// behavior and request lifecycle (context_actor.cpp) and the scheduling of
// block jobs to denoisers (context_dispatch.cpp). Internal to actors/.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "actors/actor_atoms.hpp"
#include "actors/actor_metrics.hpp"
#include "actors/cache_transport.hpp"
#include "actors/channel_join.hpp"
#include "actors/context_actor.hpp"
#include "actors/deadline_queue.hpp"
#include "actors/shm_cache.hpp"
#include "model/context_core.hpp"

namespace tt::actors {

struct ContextState {
  using Deadlines = DeadlineQueue<int64_t>;  // Unix ms
  struct Denoiser {
    msg::denoiser_actor hdl;
    Peer peer;
    msg::cache_transport transport = msg::cache_transport::inline_bytes;
    uint32_t load = 0;  // jobs sent and not answered
    // nccl: jobs wait until both sides joined the pair's channel (or it fell back to bytes).
    bool ready = true;
    std::shared_ptr<ChannelJoin> join;       // our join in progress
    std::optional<std::string> peer_joined;  // its answer to nccl_join: "" joined, else why not
    std::unique_ptr<CacheChannel> channel;   // joined
  };
  struct Sequence {
    msg::client_actor client;
    uint64_t request_id = 0;
    size_t streamed = 0;  // tokens sent to the client so far
    uint64_t sticky = 0;  // denoiser key, 0 = none yet
    bool batch = false;   // the client takes token_chunks
    std::optional<Deadlines::Handle> deadline;  // its entry in deadlines
  };
  struct Job {
    BlockJob job;
    uint64_t denoiser = 0;  // key of the denoiser refining it, 0 = queued
    uint64_t token = 0;     // in-process lease, 0 = none
    int attempts = 0;
    msg::cache_transport transport = msg::cache_transport::in_process;  // of the last send
    std::set<uint64_t> failed_on;  // denoisers that answered it with an error or a bad block
    std::chrono::steady_clock::time_point sent;
  };

  const Model* model = nullptr;
  ContextOptions options;
  std::unique_ptr<ContextCore> core;
  CacheShape shape;
  Peer self_peer;
  std::unique_ptr<shm::SegmentTable> segments;  // shared_memory snapshots, one object per sequence
  std::map<uint64_t, Denoiser> denoisers;  // by key
  std::map<caf::actor_addr, uint64_t> denoiser_keys;
  uint64_t next_key = 1;
  std::set<caf::actor_addr> greeted;  // sent an accepted hello
  std::map<uint64_t, Sequence> seqs;  // by ContextCore sequence id
  std::map<caf::actor_addr, size_t> clients;  // monitored clients, live sequences each
  std::map<uint64_t, Job> jobs;
  std::deque<uint64_t> queued;
  LeaseBook book;
  std::map<msg::cache_transport, msg::transport_stats> stats;
  bool step_pending = false;
  Deadlines deadlines;  // of sequences, behind one deadline_atom timer
  ContextMetrics metrics;
};

using context_self = context_impl::stateful_pointer<ContextState>;

// context_actor.cpp: request lifecycle.
void handle_events(context_self self, const ContextEvents& ev);
void abort_sequence(context_self self, uint64_t id, bool chunk, std::optional<msg::request_error> error);
void fail_all(context_self self, const std::string& why);

// context_dispatch.cpp: block jobs to denoisers.
// What the core gets back for a job no denoiser will answer (it frees the cache).
JobResult no_result(uint64_t job_id, uint64_t sequence);
void release_lease(ContextState::Job& j);
void dispatch(context_self self, uint64_t job_id);
void drain_queue(context_self self);
// A denoiser registered (or was refused: the hello_ack says why).
msg::hello_ack add_denoiser(context_self self, const msg::register_denoiser& r, const msg::denoiser_actor& d);
// true when dm was about a denoiser (its jobs are re-sent).
bool on_denoiser_down(context_self self, const caf::down_msg& dm);
// Our side of denoiser `key`'s NCCL channel join ended (nccl_joined_atom).
void on_nccl_joined(context_self self, uint64_t key);
msg::context_stats stats_of(const ContextState& st);

}  // namespace tt::actors
