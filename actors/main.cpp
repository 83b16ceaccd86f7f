// twotower: one binary, one subcommand per role.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "actors/commands.hpp"
#include "model/error.hpp"

#ifndef TWOTOWER_VERSION
#define TWOTOWER_VERSION "dev"
#endif

namespace {

constexpr const char* kUsage =
    "usage: twotower <command> [options]\n"
    "\n"
    "commands:\n"
    "  generate   generate text with the in-process engine (diffusion, ar, mock-ar)\n"
    "  batch      offline batch inference: JSONL requests in, JSONL results out\n"
    "  score      log-likelihood of a continuation under the context tower\n"
    "  bench      AR vs diffusion throughput and GEMM figures, as JSON\n"
    "  bench-cluster  in-process engine vs context + denoiser processes, per transport, as JSON\n"
    "  eval       held-out perplexity and diffusion-vs-AR quality and speed, as JSON\n"
    "  context    serve as a context actor: --listen HOST:PORT (denoisers register with it)\n"
    "  denoiser   serve as a denoiser of a context actor: --context HOST:PORT\n"
    "  router     OpenAI-compatible HTTP API in front of context actors: --listen, --context\n"
    "  serve      router + context + denoisers on this machine (the way to run the server)\n"
    "  plan-memory  GPU memory plan (weights, caches, sequences that fit) from config.json\n"
    "  loadgen    load an OpenAI endpoint: latency, throughput, goodput (also --serve-fake)\n"
    "  simulate   discrete-event model of a cluster: throughput and latency over a rate sweep\n"
    "  plan       recommend context actors, denoisers per context and gamma for a target load\n"
    "  profile    measure a capacity profile (forward costs, commits per step) of a model here\n"
    "  version    print the version\n"
    "\n"
    "Run `twotower <command> --help` for the options of a command.\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "help") == 0 || std::strcmp(argv[1], "--help") == 0) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  try {
    if (command == "generate") return tt::cli::run_generate(args);
    if (command == "batch") return tt::cli::run_batch(args);
    if (command == "score") return tt::cli::run_score(args);
    if (command == "bench") return tt::cli::run_bench(args);
    if (command == "eval") return tt::cli::run_eval(args);
    if (command == "context") return tt::cli::run_context(args);
    if (command == "denoiser") return tt::cli::run_denoiser(args);
    if (command == "bench-cluster") return tt::cli::run_bench_cluster(args);
    if (command == "router") return tt::cli::run_router(args);
    if (command == "serve") return tt::cli::run_serve(args);
    if (command == "plan-memory") return tt::cli::run_plan_memory(args);
    if (command == "loadgen") return tt::cli::run_loadgen(args);
    if (command == "simulate") return tt::cli::run_simulate(args);
    if (command == "plan") return tt::cli::run_plan(args);
    if (command == "profile") return tt::cli::run_profile(args);
    if (command == "version" || command == "--version") {
      std::printf("twotower %s\n", TWOTOWER_VERSION);
      return 0;
    }
    std::fprintf(stderr, "twotower: error: unknown command '%s' (run `twotower help` for the list)\n",
                 command.c_str());
    return 2;
  } catch (const tt::Error& e) {
    std::fprintf(stderr, "twotower %s: error: %s\n", command.c_str(), e.what());
    return 2;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "twotower %s: error: out of memory\n", command.c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "twotower %s: error: %s\n", command.c_str(), e.what());
    return 1;
  }
}
