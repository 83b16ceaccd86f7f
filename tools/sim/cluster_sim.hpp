// A discrete-event model of a twotower cluster: routers (FIFO, per-request
// cost), context actors (one batched forward over every pending prefill and
// block extension at a time), denoisers per context actor (step-level
// continuous batching; each block commits tokens per step drawn from the
// profile's distribution at gamma), links (latency + bytes / bandwidth for
// cache handles: K/V delta since the lessee's last fetch + Mamba state).
// Produces the same RequestRecords loadgen measures, so both summarize alike.
#pragma once

#include <vector>

#include "tools/loadgen/stats.hpp"
#include "tools/loadgen/workload.hpp"
#include "tools/sim/profile.hpp"

namespace tt::capacity {

struct ClusterSpec {
  int routers = 1;
  int contexts = 1;
  int denoisers_per_context = 1;
  double gamma = 0.8;
  double link_latency_s = 50e-6;         // one way, any two actors (router, context, denoiser)
  double link_bandwidth_Bps = 25e9;      // context -> denoiser cache bytes
  double client_latency_s = 0;           // client <-> router, one way
  int max_denoiser_batch = 0;            // blocks per denoiser step (0: unbounded)
  int max_context_batch = 0;             // sequences per context forward (0: unbounded)
};

struct SimLoad {
  std::vector<RequestSpec> requests;  // open loop: sent at at_s; closed loop: in order
  int concurrency = 0;                // > 0: closed loop with this many clients
  double warmup_s = 0;                // requests sent before are not measured
};

struct SimCounters {
  int64_t context_forwards = 0, denoiser_forwards = 0;
  double context_busy_s = 0, denoiser_busy_s = 0;  // summed over actors
  double bytes_moved = 0;
  double end_s = 0;
};

std::vector<RequestRecord> simulate_cluster(const ClusterSpec& spec, const Profile& profile, const SimLoad& load,
                                            uint64_t seed, SimCounters* counters = nullptr);

}  // namespace tt::capacity
