// `twotower bench-cluster`: the same concurrent diffusion workload on the
// in-process engine and on clusters of 1 context + N denoiser processes on
// this host (one per cache transport), side by side in one run, as JSON.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tt::actors {

struct ClusterBenchOptions {
  std::string model_dir;
  int requests = 32;       // concurrent diffusion requests
  int max_tokens = 64;
  float gamma = 0.8f;
  int block_size = 16;
  int steps = 16;
  int denoisers = 2;
  int threads = 1;          // the in-process engine's threads
  int process_threads = 1;  // each cluster process's threads
  int rounds = 3;           // runs of the workload per variant, interleaved
  std::vector<std::string> transports{"shm", "inline"};
};

// Throws tt::Error when the model cannot be loaded or a cluster cannot start.
nlohmann::json run_cluster_bench(const ClusterBenchOptions& options);

}  // namespace tt::actors
