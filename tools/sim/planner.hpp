// `plan`: the smallest cluster (GPU count) whose simulated goodput meets the
// SLOs at a target request rate, and among equally small ones the highest gamma
// (gamma trades tokens per forward for quality: the highest that fits keeps
// the most quality). Searches gamma x denoisers per context x context actors.
#pragma once

#include <vector>

#include <nlohmann/json.hpp>

#include "tools/loadgen/stats.hpp"
#include "tools/loadgen/workload.hpp"
#include "tools/sim/cluster_sim.hpp"

namespace tt::capacity {

struct PlanRequest {
  double rate = 1;  // requests/s, Poisson
  LengthDist input, output;
  Slo slo;
  double min_good_fraction = 0.95;  // of requests meeting every SLO
  double min_gamma = 0;             // consider only gammas >= this
  double max_growth = 1.25;         // stability: late vs early seconds per output token (see latency_growth)
  int max_denoisers_per_context = 8;
  int max_gpus = 4096;
  int requests = 2000;              // simulated per candidate
  uint64_t seed = 1;
  ClusterSpec base;                 // links, routers, batch limits
};

struct PlanCandidate {
  ClusterSpec spec;
  int gpus = 0;
  Summary summary;
  double growth = 0;  // latency_growth of its run
  bool feasible = false;
};

struct PlanResult {
  bool found = false;
  PlanCandidate best;
  std::vector<PlanCandidate> tried;
};

PlanResult plan(const PlanRequest& r, const Profile& profile);
// Median seconds per output token (end-to-end / tokens) of the last quarter of
// measured requests over that of the second quarter: about 1 when the cluster
// keeps up, growing when a backlog builds (a finite run can meet SLOs while unstable).
double latency_growth(const std::vector<RequestRecord>& records);
int gpus_of(const ClusterSpec& s, const Profile& p);
nlohmann::json to_json(const PlanCandidate& c);

}  // namespace tt::capacity
