// `twotower context` and `twotower denoiser`: the cluster roles as processes.
#include <cstdio>
#include <iostream>
#include <mutex>
#include <set>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/actor_metrics.hpp"
#include "actors/cli_args.hpp"
#include "actors/cli_compute.hpp"
#include "actors/cluster_config.hpp"
#include "actors/commands.hpp"
#include "actors/context_actor.hpp"
#include "actors/denoiser_actor.hpp"
#include "actors/metrics_endpoint.hpp"
#include "actors/tls.hpp"
#include "kernels/cpu/thread_pool.hpp"
#include "model/context_compute.hpp"
#include "model/denoiser_compute.hpp"
#include "model/device_region.hpp"
#include "model/error.hpp"
#ifdef TWOTOWER_HAVE_CUDA
#include "model/cuda/gpu_backend.hpp"
#include "model/cuda/gpu_context.hpp"
#include "model/cuda/gpu_denoiser.hpp"
#include "model/cuda/gpu_cache_reader.hpp"
#include "model/cuda/gpu_channel.hpp"
#endif

namespace tt::cli {
namespace {

constexpr const char* kContextHelp =
    "usage: twotower context --listen HOST:PORT [--model DIR] [--threads N] [--log-blocks]\n"
    "                        [--device N]  (CUDA: the context tower and caches on GPU N)\n"
    "                        [--transport auto|shm|inline|cuda-ipc|nccl] [--metrics HOST:PORT]\n"
    "  Serves generate/score requests; denoisers register with it. PORT 0 picks a free port;\n"
    "  the first line on stdout is 'listening on HOST:PORT'.\n"
    "  --transport: how cache snapshots reach denoisers; auto = on this host CUDA IPC when\n"
    "  both run on GPUs (--device: the cache stays in device memory), else shared memory;\n"
    "  from other hosts NCCL GPU to GPU when both run on GPUs with libnccl.so.2, else bytes\n"
    "  over the connection. shm, cuda-ipc and nccl refuse denoisers they cannot serve so.\n"
    "  --metrics serves Prometheus metrics at http://HOST:PORT/metrics and prints\n"
    "  'metrics on HOST:PORT' next.\n"
    "  --compute cpu|mock --profile FILE   mock: skip the math, take the profile's time\n";
// The TLS options (actors::kTlsHelp) follow both usages.
constexpr const char* kDenoiserHelp =
    "usage: twotower denoiser --context HOST:PORT [--model DIR] [--threads N] [--timeout-ms 5000]\n"
    "                         [--device N]  (CUDA: the denoiser tower on GPU N; maps the caches\n"
    "                                        of a GPU context on this host, CUDA IPC)\n"
    "                         [--metrics HOST:PORT] [--wait-context SECONDS]\n"
    "  Registers with the context actor and refines its blocks until it goes down.\n"
    "  --wait-context retries connecting for that long (default 0: one try), for\n"
    "  denoisers started beside a context actor that is still loading (systemd,\n"
    "  Kubernetes, Slurm); SIGTERM/SIGINT end the wait.\n"
    "  --metrics serves Prometheus metrics at http://HOST:PORT/metrics and prints\n"
    "  'metrics on HOST:PORT' on stdout.\n"
    "  --compute cpu|mock --profile FILE   mock: skip the math, take the profile's time\n";

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

std::set<std::string> with_tls(std::set<std::string> options) {
  options.insert(actors::kTlsOptions.begin(), actors::kTlsOptions.end());
  return options;
}

int help(const char* usage) {
  std::fputs(usage, stdout);
  std::fputs(actors::kTlsHelp, stdout);
  return 0;
}

void apply_threads(const Args& a) {
  if (a.has("threads")) cpu::ThreadPool::set_global_threads(static_cast<int>(a.integer("threads", 0, 1, 1024)));
}

}  // namespace

// --device N of the context and denoiser commands: every ContextCore (role "context") or
// DenoiserCore (role "denoiser") of this process computes on GPU N (model/cuda).
static void install_gpu(const Model& model, const std::string& device, const std::string& role) {
#ifdef TWOTOWER_HAVE_CUDA
  if (device.find(',') != std::string::npos) throw Error("--device: one device per process (got '" + device + "')");
  const int d = gpu::parse_devices(device).context_device;
  gpu::check_device(d);
  std::fprintf(stderr, "twotower %s: %s\n", role.c_str(), gpu::memory_plan_line(model.config, d, role).c_str());
  if (role == "context")
    install_context_compute([&model, d] { return gpu::context_compute(model.config, *model.weights.checkpoint, d); });
  else {
    install_denoiser_compute([&model, d] { return gpu::denoiser_compute(model.config, *model.weights.checkpoint, d); });
    install_device_cache_reader([&model, d] { return gpu::device_cache_reader(model.config, d); });
  }
  // Caches to and from GPUs of other nodes: NCCL when it loads here, else bytes over the connection.
  std::string why;
  if (auto channels = gpu::channel_factory(d, std::chrono::seconds(30), why))
    install_channel_factory(std::move(channels));
  else
    std::fprintf(stderr, "twotower %s: no NCCL (%s): caches to or from other nodes travel as bytes\n", role.c_str(),
                 why.c_str());
#else
  (void)model, (void)role;
  throw Error("--device " + device + ": this build has no CUDA (configure with -DTWOTOWER_CUDA=ON where nvcc is installed)");
#endif
}

int run_context(const std::vector<std::string>& argv) {
  for (const auto& a : argv)
    if (a == "--help" || a == "-h") return help(kContextHelp);
  Args a(argv, with_tls({"listen", "model", "threads", "transport", "metrics", "compute", "profile", "device"}),
         {"log-blocks"});
  apply_compute_option(a);
  const auto tls = actors::tls_from_args(a);
  if (!a.has("listen")) throw Error("--listen HOST:PORT is required");
  const auto [host, port] = actors::parse_host_port(*a.str("listen"), "listen");
  check_metrics_option(a);
  actors::ContextOptions options;
  options.log_blocks = a.flag("log-blocks");
  if (!actors::parse_transport_policy(a.str("transport", "auto"), options.transport))
    throw Error("--transport: '" + a.str("transport", "") + "' is not " + actors::kTransportPolicies);
  apply_threads(a);
  // Denoisers run elsewhere: the context process loads the context tower only.
  LoadOptions load;
  load.denoiser = false;
  if (a.has("device")) {
    if (a.has("profile")) throw Error("give at most one of --device and --compute mock");
    load.context = false;  // the tower goes straight from the checkpoint to the GPU
  }
  auto model = Model::load(a.str("model", default_model_dir()), load);
  if (a.has("device")) install_gpu(*model, *a.str("device"), "context");
  actors::block_stop_signals();  // first: the metrics thread inherits the mask
  const auto metrics = start_metrics(a, actors::context_exports);
  actors::ClusterConfig cfg;
  actors::apply_tls(cfg, tls);
  caf::actor_system sys{cfg};
  auto context = actors::spawn_context(sys, *model, options);
  auto bound = actors::publish_actor(sys, caf::actor_cast<msg::context_actor>(context), port, host);
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
    if (a == "--help" || a == "-h") return help(kDenoiserHelp);
  Args a(argv,
         with_tls({"context", "model", "threads", "timeout-ms", "metrics", "compute", "profile", "device", "wait-context"}),
         {});
  apply_compute_option(a);
  const auto tls = actors::tls_from_args(a);
  if (!a.has("context")) throw Error("--context HOST:PORT is required");
  const auto [host, port] = actors::parse_host_port(*a.str("context"), "context");
  check_metrics_option(a);
  const auto timeout = std::chrono::milliseconds(a.integer("timeout-ms", 5000, 1, 3600000));
  const auto wait_context = std::chrono::seconds(a.integer("wait-context", 0, 0, 86400));
  apply_threads(a);
  LoadOptions load;
  load.context = false;
  if (a.has("device")) {
    if (a.has("profile")) throw Error("give at most one of --device and --compute mock");
    load.denoiser = false;  // the tower goes straight from the checkpoint to the GPU
  }
  auto model = Model::load(a.str("model", default_model_dir()), load);
  if (a.has("device")) install_gpu(*model, *a.str("device"), "denoiser");
  actors::block_stop_signals();  // first: the metrics thread inherits the mask
  const auto metrics = start_metrics(a, actors::denoiser_exports);
  print_metrics_address(metrics);
  actors::ClusterConfig cfg;
  actors::apply_tls(cfg, tls);
  caf::actor_system sys{cfg};
  auto context = actors::connect_actor<msg::context_actor>(sys, host, port);
  const auto give_up = std::chrono::steady_clock::now() + wait_context;
  while (!context && std::chrono::steady_clock::now() < give_up) {
    if (actors::stop_signal_within(std::chrono::seconds(1))) return 0;
    context = actors::connect_actor<msg::context_actor>(sys, host, port);
  }
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
