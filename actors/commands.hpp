// The subcommands of the multi-call binary `twotower`.
#pragma once

#include <string>
#include <vector>

namespace tt::cli {

// Each returns the process exit status; tt::Error escapes to main, which
// prints it as one line and exits 2.
int run_generate(const std::vector<std::string>& args);
int run_score(const std::vector<std::string>& args);
int run_bench(const std::vector<std::string>& args);
int run_eval(const std::vector<std::string>& args);
int run_context(const std::vector<std::string>& args);
int run_denoiser(const std::vector<std::string>& args);
int run_batch(const std::vector<std::string>& args);
int run_bench_cluster(const std::vector<std::string>& args);
int run_router(const std::vector<std::string>& args);
int run_serve(const std::vector<std::string>& args);
int run_plan_memory(const std::vector<std::string>& args);
int run_loadgen(const std::vector<std::string>& args);
int run_simulate(const std::vector<std::string>& args);
int run_plan(const std::vector<std::string>& args);
int run_profile(const std::vector<std::string>& args);

}  // namespace tt::cli
