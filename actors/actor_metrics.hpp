// The context and denoiser roles' metrics (monitoring/names.hpp), recorded
// from what the actor shells see and what the pure cores count. The actors make
// one-line calls; each recorder keeps the little per-request state it needs
// (arrival times, blocks in flight), so the cores stay free of Prometheus types.
// Without installed metrics (tests, in-process runs) every call is a no-op.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "messages/cache_handle.hpp"
#include "messages/response.hpp"
#include "model/block_job.hpp"
#include "model/context_core.hpp"
#include "model/denoiser_core.hpp"
#include "monitoring/metrics.hpp"

namespace tt::actors {

using metrics_clock = std::chrono::steady_clock;

// The process's metrics, installed by a process main before it spawns actors
// (the Metrics must outlive them); nullptr turns recording off.
void install_metrics(mon::Metrics* metrics);
mon::Metrics* installed_metrics();

// The families a role's process exports: what it records (monitoring/names.hpp
// components context, engine, cluster for a context actor; denoiser, engine,
// cache handle, cluster for a denoiser).
bool context_exports(std::string_view family);
bool denoiser_exports(std::string_view family);

// Memory a context actor's caches may use: the host's physical memory, or the
// cgroup's limit when that is lower (the CPU backend keeps caches in RAM).
uint64_t cache_capacity_bytes();

// The outcome label of a request a context actor ended early.
std::string_view outcome_of(const std::optional<msg::request_error>& error);

// The transport label of a cache handle.
std::string_view transport_label(msg::cache_transport transport);

// One per context actor; like the actor, not thread-safe.
class ContextMetrics {
public:
  explicit ContextMetrics(mon::Metrics* metrics = installed_metrics());

  void admitted(uint64_t sequence, size_t prompt_tokens);
  // What a step() or on_result() produced: prefills that started (queue time),
  // the context forward's batch, cache bytes.
  void events(const ContextEvents& events, const ContextCore& core);
  // `tokens` new tokens went to the client; `final`: the request ended normally.
  void streamed(uint64_t sequence, size_t tokens, bool final);
  void aborted(uint64_t sequence, std::string_view outcome);
  // The actor forgot the sequence (after release or cancel in the core).
  void forgotten(uint64_t sequence, const ContextCore& core);
  void block_sent(uint64_t job, uint64_t sequence);
  void block_committed(uint64_t job);
  void peer(std::string_view role, std::string_view event);

  size_t tracked_sequences() const { return seqs_.size(); }
  size_t tracked_blocks() const { return blocks_.size(); }

private:
  struct Request {
    metrics_clock::time_point arrival;
    bool started = false;
    bool streamed = false;  // first tokens went out
    bool ended = false;     // outcome counted
  };
  struct Block {
    uint64_t sequence = 0;
    metrics_clock::time_point sent;
  };
  void end(Request& r, std::string_view outcome);
  void update_gauges();

  mon::Metrics* m_;
  mon::Histogram* context_batch_ = nullptr;
  std::unordered_map<uint64_t, Request> seqs_;
  std::unordered_map<uint64_t, Block> blocks_;  // by job id
  size_t waiting_ = 0, running_ = 0;
};

// One per denoiser actor; not thread-safe.
class DenoiserMetrics {
public:
  explicit DenoiserMetrics(mon::Metrics* metrics = installed_metrics());

  // A cache handle was applied, starting at `start`.
  void handle_applied(const msg::cache_handle& handle, metrics_clock::time_point start);
  // One batched forward ran (core.last_committed()); `done` are the blocks it finished.
  void stepped(const DenoiserCore& core, const std::vector<JobResult>& done);
  void peer(std::string_view role, std::string_view event);

private:
  mon::Metrics* m_;
  mon::Histogram* denoiser_batch_ = nullptr;
  mon::Counter* transfer_bytes_[5] = {};         // by wire value of msg::cache_transport
  mon::Histogram* transfer_seconds_[5] = {};
};

}  // namespace tt::actors
