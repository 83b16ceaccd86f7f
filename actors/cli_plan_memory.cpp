// `twotower plan-memory`: the GPU memory plan from config.json alone (no weights read).
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "actors/cli_args.hpp"
#include "actors/commands.hpp"
#include "model/config.hpp"
#include "model/error.hpp"
#include "model/memory_plan.hpp"

namespace tt::cli {
namespace {

constexpr const char* kPlanHelp =
    "usage: twotower plan-memory --model DIR [--gpus 2] [--gpu-memory-gb 80] [--seq-len 4096]\n"
    "                            [--block-size 16] [--prefill-chunk 2048] [--reserve-gb 1.5]\n"
    "                            [--json]\n"
    "\n"
    "Computes, from DIR/config.json alone, the bytes of each tower's weights (bf16, per layer\n"
    "kind), the K/V bytes per token, the Mamba conv + SSM state per sequence, the workspaces, and\n"
    "how many sequences of --seq-len tokens fit beside the weights: --gpus 1 puts both towers on\n"
    "one GPU, --gpus N >= 2 the context tower on GPU 0 and a denoiser on each other GPU. Also the\n"
    "AR-only plan (context tower alone on one GPU). GB = 1e9 bytes. --json prints JSON only.\n";

}  // namespace

int run_plan_memory(const std::vector<std::string>& argv) {
  for (const auto& a : argv)
    if (a == "--help" || a == "-h") return std::fputs(kPlanHelp, stdout), 0;
  Args a(argv, {"model", "gpus", "gpu-memory-gb", "seq-len", "block-size", "prefill-chunk", "reserve-gb"},
         {"json"});
  if (!a.has("model")) throw Error("--model DIR is required (a directory with config.json)");
  const std::string dir = *a.str("model");
  const std::string path = std::filesystem::is_directory(dir) ? dir + "/config.json" : dir;
  const ModelConfig config = load_config(path);

  PlanOptions o;
  o.gpus = static_cast<int>(a.integer("gpus", o.gpus, 1, 64));
  o.gpu_memory_gb = a.number("gpu-memory-gb", o.gpu_memory_gb);
  if (!(o.gpu_memory_gb > 0.0 && o.gpu_memory_gb <= 1e6))
    throw Error("--gpu-memory-gb: must be in (0, 1e6] (got " + a.str("gpu-memory-gb", "") + ")");
  o.seq_len = static_cast<int>(a.integer("seq-len", o.seq_len, 1, 1 << 30));
  o.block_size = static_cast<int>(a.integer("block-size", o.block_size, 1, 4096));
  o.prefill_chunk = static_cast<int>(a.integer("prefill-chunk", o.prefill_chunk, 1, 1 << 20));
  o.reserve_gb = a.number("reserve-gb", o.reserve_gb);
  if (!(o.reserve_gb >= 0.0 && o.reserve_gb < o.gpu_memory_gb))
    throw Error("--reserve-gb: must be in [0, --gpu-memory-gb)");

  const MemoryPlan plan = plan_memory(config, o);
  if (a.flag("json")) {
    std::cout << to_json(plan).dump(2) << "\n";
  } else {
    std::cout << "memory plan for " << path << "\n" << to_table(plan);
  }
  return 0;
}

}  // namespace tt::cli
