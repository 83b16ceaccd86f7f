// `twotower bench`: parses the options, runs tools/bench, prints one JSON object.
#include <cstdio>
#include <iostream>

#include "actors/cli_args.hpp"
#include "actors/commands.hpp"
#include "kernels/cpu/thread_pool.hpp"
#include "model/error.hpp"
#include "model/model.hpp"
#include "tools/bench/bench.hpp"

namespace tt::cli {
namespace {

constexpr const char* kBenchHelp =
    "usage: twotower bench [--model DIR] [--quick] [--threads N] [--batches 1,8,32]\n"
    "                      [--max-tokens 64] [--gamma 0.8] [--context-tokens 2048]\n"
    "\n"
    "Prints one JSON object: \"machine\"; \"model\" (AR vs diffusion tokens/s on DIR, one\n"
    "batched generate call per batch size); \"gemm\" (GEMM GFLOP/s next to the measured peak);\n"
    "\"layer_stack\" (the 30B model's real-size M, * and E layers with random weights: AR and\n"
    "diffusion-shaped forwards over a prefilled context, extrapolated to 52 layers).\n"
    "--quick: max tokens 32, batches 1,8, context 256, shorter timings. Progress goes to stderr.\n";

constexpr int kMaxBatch = 1024;

std::vector<int> parse_batches(const std::string& text) {
  std::vector<int> out;
  size_t pos = 0;
  while (true) {
    const size_t comma = text.find(',', pos);
    const std::string item = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    size_t used = 0;
    int v = 0;
    try {
      v = std::stoi(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (item.empty() || used != item.size() || v < 1 || v > kMaxBatch)
      throw Error("--batches: '" + item + "' is not a batch size (1.." + std::to_string(kMaxBatch) + ")");
    out.push_back(v);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

}  // namespace

int run_bench(const std::vector<std::string>& argv) {
  for (const auto& a : argv)
    if (a == "--help" || a == "-h") return std::fputs(kBenchHelp, stdout), 0;
  Args a(argv, {"model", "threads", "batches", "max-tokens", "gamma", "context-tokens"}, {"quick"});

  bench::BenchOptions o;
  o.quick = a.flag("quick");
  o.model_dir = a.str("model", default_model_dir());
  o.batches = a.has("batches") ? parse_batches(*a.str("batches")) : (o.quick ? std::vector<int>{1, 8}
                                                                              : std::vector<int>{1, 8, 32});
  o.max_tokens = static_cast<int>(a.integer("max-tokens", o.quick ? 32 : 64, 1, 1 << 16));
  o.gamma = static_cast<float>(a.number("gamma", 0.8));
  if (!(o.gamma > 0.0f && o.gamma <= 1.0f)) throw Error("--gamma: must be in (0, 1] (got " + a.str("gamma", "") + ")");
  o.context_tokens = static_cast<int>(a.integer("context-tokens", o.quick ? 256 : 2048, 1, 1 << 16));
  o.gemm_seconds_per_case = o.quick ? 0.1 : 0.5;
  o.stack_seconds_per_measurement = o.quick ? 0.3 : 6.0;
  if (a.has("threads")) cpu::ThreadPool::set_global_threads(static_cast<int>(a.integer("threads", 0, 1, 1024)));

  const nlohmann::json j = bench::run_bench(o);
  std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  return 0;
}

}  // namespace tt::cli
