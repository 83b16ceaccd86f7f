// `twotower router`: the OpenAI-compatible HTTP front door in front of context actors.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <set>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/cli_args.hpp"
#include "actors/cluster_config.hpp"
#include "actors/tls.hpp"
#include "actors/commands.hpp"
#include "model/error.hpp"
#include "model/model.hpp"
#include "monitoring/metrics.hpp"
#include "monitoring/registry.hpp"
#include "router/api.hpp"
#include "router/dispatcher.hpp"
#include "router/http_server.hpp"
#include "router/routing_policy.hpp"

namespace tt::cli {
namespace {

constexpr const char* kRouterHelp =
    "usage: twotower router --listen HOST:PORT --context HOST:PORT[,HOST:PORT...] [--model DIR]\n"
    "                       [--context-dns NAME:PORT[,NAME:PORT...]] [--contexts-file PATH]\n"
    "                       [--discovery-interval-ms 5000]\n"
    "                       [--model-name NAME] [--api-key KEY] [--max-queue 256] [--max-running 64]\n"
    "                       [--timeout SECONDS (300)] [--policy affinity|least-loaded] [--http-threads N (cores, at most 4)]\n"
    "                       [--max-body-bytes 1048576] [--probe-interval-ms 2000] [--drain-seconds 60]\n"
    "                       [--tls-cert PEM --tls-key PEM --tls-ca PEM]  (to the context actors)\n"
    "  OpenAI-compatible API: POST /v1/completions, POST /v1/chat/completions, GET /v1/models,\n"
    "  GET /health, GET /ready, GET /metrics. The model directory supplies the tokenizer and the\n"
    "  context limit (no weights are loaded). --max-running is per context actor; more requests\n"
    "  wait in a queue of --max-queue, beyond which they get 429. PORT 0 picks a free port; the\n"
    "  first line on stdout is 'listening on HOST:PORT'. SIGINT/SIGTERM: stop accepting, let\n"
    "  in-flight requests finish (at most --drain-seconds), exit.\n"
    "  Context actors: the --context list, plus every address a --context-dns name resolves to\n"
    "  (a Kubernetes headless Service: one per cell pod) and every HOST:PORT line of\n"
    "  --contexts-file, looked up again every --discovery-interval-ms, so cells can be added and\n"
    "  removed without a restart (at most 64 discovered at a time). Give at least one of the three.\n";

std::vector<std::pair<std::string, uint16_t>> parse_contexts(const std::string& list, const std::string& option) {
  std::vector<std::pair<std::string, uint16_t>> out;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = list.find(',', start);
    const std::string one = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    out.push_back(actors::parse_host_port(one, option));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace

int run_router(const std::vector<std::string>& argv) {
  for (const auto& a : argv)
    if (a == "--help" || a == "-h") return std::fputs(kRouterHelp, stdout), std::fputs(actors::kTlsHelp, stdout), 0;
  std::set<std::string> options{"listen",      "context",     "model",          "model-name",        "api-key",
                                "max-queue",   "max-running", "timeout",        "policy",            "http-threads",
                                "max-body-bytes", "probe-interval-ms", "drain-seconds", "context-dns",
                                "contexts-file", "discovery-interval-ms"};
  options.insert(actors::kTlsOptions.begin(), actors::kTlsOptions.end());
  Args a(argv, options, {});
  const auto tls = actors::tls_from_args(a);
  if (!a.has("listen")) throw Error("--listen HOST:PORT is required");
  if (!a.has("context") && !a.has("context-dns") && !a.has("contexts-file"))
    throw Error("--context HOST:PORT[,HOST:PORT...] (or --context-dns / --contexts-file) is required");
  const auto [host, port] = actors::parse_host_port(*a.str("listen"), "listen");
  router::DispatcherOptions dopt;
  if (a.has("context")) dopt.contexts = parse_contexts(*a.str("context"), "context");
  if (a.has("context-dns")) dopt.discovery.dns = parse_contexts(*a.str("context-dns"), "context-dns");
  dopt.discovery.file = a.str("contexts-file", "");
  dopt.discovery_interval = std::chrono::milliseconds(a.integer("discovery-interval-ms", 5000, 100, 3600000));
  dopt.max_queue = static_cast<uint32_t>(a.integer("max-queue", 256, 0, 1 << 20));
  dopt.max_running_per_context = static_cast<uint32_t>(a.integer("max-running", 64, 1, 1 << 20));
  dopt.policy = a.str("policy", "affinity");
  if (!router::make_policy(dopt.policy)) throw Error("--policy: must be affinity or least-loaded");
  dopt.probe_interval = std::chrono::milliseconds(a.integer("probe-interval-ms", 2000, 10, 3600000));
  dopt.ready_window = std::max(dopt.ready_window, 5 * dopt.probe_interval);
  router::ApiOptions aopt;
  aopt.api_key = a.str("api-key", "");
  const double timeout = a.number("timeout", 300.0);
  if (!(timeout > 0 && timeout <= 86400)) throw Error("--timeout: must be in (0, 86400] seconds");
  aopt.timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout * 1000));
  aopt.max_body_bytes = static_cast<size_t>(a.integer("max-body-bytes", 1 << 20, 1024, 1 << 30));
  // One io thread per core (up to 4) by default: a step's events reach every
  // stream at once, and more threads write them out sooner (router_bench).
  const int default_threads = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 4u));
  const int threads = static_cast<int>(a.integer("http-threads", default_threads, 1, 64));
  const auto drain = std::chrono::seconds(a.integer("drain-seconds", 60, 0, 86400));

  LoadOptions load;
  load.context = load.denoiser = false;  // tokenizer and config only
  auto model = Model::load(a.str("model", default_model_dir()), load);
  router::ModelLimits limits;
  limits.model_name = a.str("model-name", std::filesystem::path(model->dir).filename().string());
  if (limits.model_name.empty()) limits.model_name = "twotower";
  limits.context_limit = model->config.max_position_embeddings > 0 ? model->config.max_position_embeddings : 1 << 20;
  limits.vocab_size = model->config.vocab_size;
  limits.tokenizer = model->tokenizer ? &*model->tokenizer : nullptr;

  actors::block_stop_signals();
  actors::ClusterConfig cfg;
  actors::apply_tls(cfg, tls);
  caf::actor_system sys{cfg};
  if (tls.enabled())
    dopt.connect = [&sys](const std::string& h, uint16_t p) { return actors::connect_actor<msg::context_actor>(sys, h, p); };
  mon::Registry registry;
  mon::Metrics metrics(registry);
  router::Dispatcher dispatcher(sys, dopt, metrics);
  router::Api api(limits, aopt, dispatcher, registry, metrics);
  router::HttpServer server(api, host, port);
  server.start(threads);
  std::printf("listening on %s:%u\n", host.c_str(), static_cast<unsigned>(server.port()));
  std::fflush(stdout);
  while (!actors::stop_signal_within(std::chrono::milliseconds(500))) {
  }
  std::fprintf(stderr, "twotower router: draining %u request(s)\n", dispatcher.status().active.load());
  dispatcher.drain();
  server.stop_accepting();
  const auto until = std::chrono::steady_clock::now() + drain;
  while (dispatcher.status().active > 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // let the last responses leave
  dispatcher.shutdown();
  server.stop();
  return 0;
}

}  // namespace tt::cli
