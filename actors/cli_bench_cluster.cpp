// `twotower bench-cluster`: parses the options, runs actors/cluster_bench, prints one JSON object.
#include <cstdio>
#include <iostream>
#include <sstream>

#include "actors/cli_args.hpp"
#include "actors/cluster_bench.hpp"
#include "actors/commands.hpp"
#include "model/error.hpp"
#include "model/model.hpp"

namespace tt::cli {
namespace {

constexpr const char* kHelp =
    "usage: twotower bench-cluster [--model DIR] [--requests 32] [--max-tokens 64] [--gamma 0.8]\n"
    "                              [--block-size 16] [--steps 16] [--denoisers 2] [--threads 1]\n"
    "                              [--process-threads 1] [--rounds 3] [--transports shm,inline]\n"
    "\n"
    "Runs the same concurrent diffusion requests on the in-process engine (--threads) and on one\n"
    "cluster per transport (1 context + --denoisers denoiser processes on loopback, each with\n"
    "--process-threads), rounds interleaved, and prints one JSON object: tokens/s of each, the\n"
    "cluster/in-process ratios, whether the tokens are identical, and per block and transport the\n"
    "cache bytes inside messages, bytes written to shared memory, message bytes without the cache,\n"
    "handle publishing time and block round trip. Progress goes to stderr.\n";

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) out.push_back(item);
  if (out.empty()) throw Error("--transports: empty list");
  return out;
}

}  // namespace

int run_bench_cluster(const std::vector<std::string>& argv) {
  for (const auto& a : argv)
    if (a == "--help" || a == "-h") return std::fputs(kHelp, stdout), 0;
  Args a(argv,
         {"model", "requests", "max-tokens", "gamma", "block-size", "steps", "denoisers", "threads",
          "process-threads", "rounds", "transports"},
         {});
  actors::ClusterBenchOptions o;
  o.model_dir = a.str("model", default_model_dir());
  o.requests = static_cast<int>(a.integer("requests", 32, 1, 4096));
  o.max_tokens = static_cast<int>(a.integer("max-tokens", 64, 1, 1 << 16));
  o.gamma = static_cast<float>(a.number("gamma", 0.8));
  if (!(o.gamma > 0.0f && o.gamma <= 1.0f)) throw Error("--gamma: must be in (0, 1] (got " + a.str("gamma", "") + ")");
  o.block_size = static_cast<int>(a.integer("block-size", 16, 1, 4096));
  o.steps = static_cast<int>(a.integer("steps", 16, 1, 4096));
  o.denoisers = static_cast<int>(a.integer("denoisers", 2, 1, 64));
  o.threads = static_cast<int>(a.integer("threads", 1, 1, 1024));
  o.process_threads = static_cast<int>(a.integer("process-threads", 1, 1, 1024));
  o.rounds = static_cast<int>(a.integer("rounds", 3, 1, 100));
  if (a.has("transports")) o.transports = split_list(*a.str("transports"));
  const nlohmann::json j = actors::run_cluster_bench(o);
  std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  return 0;
}

}  // namespace tt::cli
