// `twotower eval`: model-card figures on held-out text (tools/eval).
#include <cstdio>
#include <iostream>

#include "actors/cli_args.hpp"
#include "actors/commands.hpp"
#include "kernels/cpu/thread_pool.hpp"
#include "model/error.hpp"
#include "model/model.hpp"
#include "tools/eval/eval.hpp"

namespace tt::cli {

int run_eval(const std::vector<std::string>& argv) {
  for (const auto& a : argv)
    if (a == "--help" || a == "-h")
      return std::fputs(
                 "usage: twotower eval --heldout FILE [--model DIR] [--prompts 128] [--prompt-tokens 24]\n"
                 "                     [--max-tokens 64] [--documents 200] [--window 256] [--threads N]\n",
                 stdout),
             0;
  Args a(argv, {"model", "heldout", "prompts", "prompt-tokens", "max-tokens", "documents", "window", "threads"}, {});
  eval::EvalOptions o;
  o.model_dir = a.str("model", default_model_dir());
  if (!a.has("heldout")) throw Error("--heldout is required");
  o.heldout_path = *a.str("heldout");
  o.prompts = static_cast<int>(a.integer("prompts", o.prompts, 1, 100000));
  o.prompt_tokens = static_cast<int>(a.integer("prompt-tokens", o.prompt_tokens, 1, 4096));
  o.max_tokens = static_cast<int>(a.integer("max-tokens", o.max_tokens, 1, 4096));
  o.max_documents = static_cast<int>(a.integer("documents", o.max_documents, 1, 1000000));
  o.window = static_cast<int>(a.integer("window", o.window, 2, 1 << 20));
  if (a.has("threads")) cpu::ThreadPool::set_global_threads(static_cast<int>(a.integer("threads", 0, 1, 1024)));
  std::cout << eval::run_eval(o).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  return 0;
}

}  // namespace tt::cli
