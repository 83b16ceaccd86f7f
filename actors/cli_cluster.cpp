// `twotower context` and `twotower denoiser`: the cluster roles as processes.
#include <cstdio>
#include <iostream>
#include <mutex>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/actor_metrics.hpp"
#include "actors/cli_args.hpp"
#include "actors/cluster_config.hpp"
#include "actors/commands.hpp"
#include "actors/context_actor.hpp"
#include "actors/denoiser_actor.hpp"
#include "actors/metrics_endpoint.hpp"
#include "kernels/cpu/thread_pool.hpp"
#include "model/error.hpp"

namespace tt::cli {
namespace {

constexpr const char* kContextHelp =
    "usage: twotower context --listen HOST:PORT [--model DIR] [--threads N] [--log-blocks]\n"
    "                        [--metrics HOST:PORT]\n"
    "  Serves generate/score requests; denoisers register with it. PORT 0 picks a free port;\n"
    "  the first line on stdout is 'listening on HOST:PORT'. --metrics serves Prometheus\n"
    "  metrics at http://HOST:PORT/metrics and prints 'metrics on HOST:PORT' next.\n";
constexpr const char* kDenoiserHelp =
    "usage: twotower denoiser --context HOST:PORT [--model DIR] [--threads N] [--timeout-ms 5000]\n"
    "                         [--metrics HOST:PORT]\n"
    "  Registers with the context actor and refines its blocks until it goes down.\n"
    "  --metrics serves Prometheus metrics at http://HOST:PORT/metrics and prints\n"
    "  'metrics on HOST:PORT' on stdout.\n";

// Checks --metrics HOST:PORT up front, before the model loads.
void check_metrics_option(const Args& a) {
  if (a.has("metrics")) actors::parse_host_port(*a.str("metrics"), "metrics");
}

// Starts the /metrics endpoint when --metrics is given (before any actor exists).
std::unique_ptr<actors::MetricsEndpoint> start_metrics(const Args& a, mon::FamilyFilter exports) {
  if (!a.has("metrics")) return nullptr;
  return std::make_unique<actors::MetricsEndpoint>(*a.str("metrics"), std::move(exports));
}

void print_metrics_address(const std::unique_ptr<actors::MetricsEndpoint>& m) {
  if (m == nullptr) return;
  std::printf("metrics on %s\n", m->address().c_str());
  std::fflush(stdout);
}

void apply_threads(const Args& a) {
  if (a.has("threads")) cpu::ThreadPool::set_global_threads(static_cast<int>(a.integer("threads", 0, 1, 1024)));
}

}  // namespace

int run_context(const std::vector<std::string>& argv) {
  for (const auto& a : argv)
    if (a == "--help" || a == "-h") return std::fputs(kContextHelp, stdout), 0;
  Args a(argv, {"listen", "model", "threads", "metrics"}, {"log-blocks"});
  if (!a.has("listen")) throw Error("--listen HOST:PORT is required");
  const auto [host, port] = actors::parse_host_port(*a.str("listen"), "listen");
  check_metrics_option(a);
  apply_threads(a);
  // ContextCore refuses diffusion requests without the denoiser weights loaded.
  auto model = Model::load(a.str("model", default_model_dir()));
  actors::block_stop_signals();  // first: the metrics thread inherits the mask
  const auto metrics = start_metrics(a, actors::context_exports);
  actors::ClusterConfig cfg;
  caf::actor_system sys{cfg};
  actors::ContextOptions options;
  options.log_blocks = a.flag("log-blocks");
  auto context = actors::spawn_context(sys, *model, options);
  auto bound = sys.middleman().publish(caf::actor_cast<msg::context_actor>(context), port, host.c_str(), true);
  if (!bound) {
    caf::anon_send_exit(context, caf::exit_reason::user_shutdown);
    throw Error("--listen " + host + ":" + std::to_string(port) + ": cannot listen: " + sys.render(bound.error()));
  }
  std::printf("listening on %s:%u\n", host.c_str(), static_cast<unsigned>(*bound));
  std::fflush(stdout);
  print_metrics_address(metrics);
  actors::wait_until_down_or_signal(sys, caf::actor_cast<caf::actor>(context));
  return 0;
}

int run_denoiser(const std::vector<std::string>& argv) {
  for (const auto& a : argv)
    if (a == "--help" || a == "-h") return std::fputs(kDenoiserHelp, stdout), 0;
  Args a(argv, {"context", "model", "threads", "timeout-ms", "metrics"}, {});
  if (!a.has("context")) throw Error("--context HOST:PORT is required");
  const auto [host, port] = actors::parse_host_port(*a.str("context"), "context");
  check_metrics_option(a);
  const auto timeout = std::chrono::milliseconds(a.integer("timeout-ms", 5000, 1, 3600000));
  apply_threads(a);
  LoadOptions load;
  load.context = false;
  auto model = Model::load(a.str("model", default_model_dir()), load);
  actors::block_stop_signals();  // first: the metrics thread inherits the mask
  const auto metrics = start_metrics(a, actors::denoiser_exports);
  print_metrics_address(metrics);
  actors::ClusterConfig cfg;
  caf::actor_system sys{cfg};
  auto context = sys.middleman().remote_actor<msg::context_actor>(host, port);
  if (!context)
    throw Error("--context " + host + ":" + std::to_string(port) + ": cannot connect: " + sys.render(context.error()));
  auto failure = std::make_shared<std::pair<std::mutex, std::string>>();
  auto denoiser = actors::spawn_registered_denoiser(sys, *model, *context, timeout, [failure](std::string why) {
    std::lock_guard lock(failure->first);
    if (failure->second.empty()) failure->second = std::move(why);
  });
  std::fprintf(stderr, "twotower denoiser: serving %s:%u\n", host.c_str(), static_cast<unsigned>(port));
  if (actors::wait_until_down_or_signal(sys, caf::actor_cast<caf::actor>(denoiser))) return 0;
  std::lock_guard lock(failure->first);
  throw Error(failure->second.empty() ? "stopped" : failure->second);
}

}  // namespace tt::cli
