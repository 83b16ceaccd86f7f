// `twotower profile`: measures a capacity profile (JSON, the format of
// profiles/) for a model on this machine; simulate, plan and mock compute read it.
#include <cstdio>
#include <iostream>

#include "actors/cli_args.hpp"
#include "actors/commands.hpp"
#include "kernels/cpu/thread_pool.hpp"
#include "model/error.hpp"
#include "tools/bench/profile_measure.hpp"

namespace tt::cli {

int run_profile(const std::vector<std::string>& argv) {
  for (const auto& x : argv)
    if (x == "--help" || x == "-h")
      return std::fputs("usage: twotower profile [--model DIR] [--threads N] [--quick]\n"
                        "Prints a capacity profile (forward costs by batch, commits per step by gamma) as JSON.\n",
                        stdout),
             0;
  Args a(argv, {"model", "threads"}, {"quick"});
  bench::ProfileOptions o;
  if (a.has("threads")) {
    o.threads = static_cast<int>(a.integer("threads", 0, 1, 1024));
    cpu::ThreadPool::set_global_threads(o.threads);
  }
  if (a.flag("quick")) o.seconds_per_point = 0.05, o.commit_tokens = 32, o.gammas = {0.8f};
  auto model = Model::load(a.str("model", default_model_dir()));
  std::cout << bench::measure_profile(*model, o).dump(1) << "\n";
  return 0;
}

}  // namespace tt::cli
