// The in-process engine against clusters of real processes on loopback, the
// same requests on each, rounds interleaved so that drift in the machine's
// load hits every variant alike.
#include "actors/cluster_bench.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>

#include <unistd.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/cache_transport.hpp"
#include "actors/child_process.hpp"
#include "actors/cluster_config.hpp"
#include "kernels/cpu/thread_pool.hpp"
#include "messages/engine_bridge.hpp"
#include "messages/interfaces.hpp"
#include "model/engine.hpp"
#include "model/error.hpp"
#include "tools/bench/bench.hpp"

namespace tt::actors {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Round {
  double seconds = 0;
  std::vector<std::vector<int32_t>> tokens;  // per request
};

int64_t total_tokens(const Round& r) {
  int64_t n = 0;
  for (const auto& t : r.tokens) n += static_cast<int64_t>(t.size());
  return n;
}

// One cluster: context + denoisers as processes, and our handle on the context.
struct Cluster {
  std::string transport;
  ChildProcess context;
  std::vector<ChildProcess> denoisers;
  msg::context_actor handle;
};

std::unique_ptr<Cluster> start_cluster(caf::actor_system& sys, const ClusterBenchOptions& o,
                                       const std::string& transport, const std::string& dir) {
  auto c = std::make_unique<Cluster>();
  c->transport = transport;
  const std::string out = dir + "/context-" + transport + ".out", err = dir + "/context-" + transport + ".err";
  const std::string threads = std::to_string(o.process_threads);
  c->context = ChildProcess({"context", "--listen", "127.0.0.1:0", "--model", o.model_dir, "--threads", threads,
                             "--transport", transport},
                            out, err);
  if (!wait_for_text(c->context, out, "listening on", 1, std::chrono::seconds(60)))
    throw Error("the " + transport + " context did not start: " + read_text_file(err));
  std::string address = read_text_file(out);
  address = address.substr(address.find("on ") + 3);
  address = address.substr(0, address.find('\n'));
  for (int i = 0; i < o.denoisers; ++i) {
    const std::string name = dir + "/denoiser-" + transport + "-" + std::to_string(i);
    c->denoisers.emplace_back(std::vector<std::string>{"denoiser", "--context", address, "--model", o.model_dir,
                                                       "--threads", threads},
                              name + ".out", name + ".err");
  }
  if (!wait_for_text(c->context, err, "registered", static_cast<size_t>(o.denoisers), std::chrono::seconds(60)))
    throw Error("the " + transport + " denoisers did not register: " + read_text_file(err));
  const auto [host, port] = parse_host_port(address, "listen");
  auto handle = sys.middleman().remote_actor<msg::context_actor>(host, port);
  if (!handle) throw Error("cannot connect to the " + transport + " context: " + sys.render(handle.error()));
  c->handle = *handle;
  return c;
}

// Sends every request at once and waits for every final chunk.
Round run_cluster_round(caf::actor_system& sys, const msg::context_actor& context,
                        const std::vector<GenerateRequest>& requests) {
  caf::scoped_actor self{sys};
  Round r;
  r.tokens.resize(requests.size());
  const auto t0 = Clock::now();
  for (size_t i = 0; i < requests.size(); ++i)
    self->send(context, msg::to_wire_request(requests[i], i + 1, 0), caf::actor_cast<msg::client_actor>(self));
  size_t open = requests.size();
  std::string error;
  while (open > 0 && error.empty()) {
    self->receive(
      [&](const msg::token_chunk& c) {
        auto t = msg::unpack_int32(c.tokens, "token_chunk.tokens");
        if (!t || c.request_id == 0 || c.request_id > requests.size()) return void(error = "bad token_chunk");
        auto& dst = r.tokens[c.request_id - 1];
        dst.insert(dst.end(), t.value.begin(), t.value.end());
        open -= c.final;
      },
      [&](const msg::request_error& e) { error = msg::to_string(e.code) + ": " + e.message; },
      [&](const msg::score_result&) {},
      caf::after(std::chrono::minutes(10)) >> [&] { error = "no answer from the cluster within 10 minutes"; });
  }
  if (!error.empty()) throw Error("cluster round: " + error);
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return r;
}

Round run_in_process_round(Engine& engine, const std::vector<GenerateRequest>& requests) {
  Round r;
  const auto t0 = Clock::now();
  auto res = engine.generate(requests);
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  for (auto& g : res) r.tokens.push_back(std::move(g.tokens));
  return r;
}

// Resident memory of a process (VmRSS), 0 when it cannot be read.
double rss_bytes(pid_t pid) {
  const std::string status = read_text_file("/proc/" + std::to_string(pid) + "/status");
  const auto at = status.find("VmRSS:");
  return at == std::string::npos ? 0.0 : std::strtod(status.c_str() + at + 6, nullptr) * 1024.0;
}

json summarize(const std::vector<Round>& rounds) {
  json all = json::array();
  double best = 0;
  std::vector<double> rates;
  for (const auto& r : rounds) {
    const double tps = total_tokens(r) / r.seconds;
    rates.push_back(tps);
    best = std::max(best, tps);
    all.push_back({{"seconds", r.seconds}, {"tokens", total_tokens(r)}, {"tokens_per_second", tps}});
  }
  std::sort(rates.begin(), rates.end());
  return {{"best_tokens_per_second", best}, {"median_tokens_per_second", rates[rates.size() / 2]}, {"rounds", all}};
}

json per_block(const msg::transport_stats& s) {
  const double n = s.blocks > 0 ? static_cast<double>(s.blocks) : 1.0;
  const double c = s.committed > 0 ? static_cast<double>(s.committed) : 1.0;
  return {{"blocks", s.blocks},
          {"kv_bytes_in_messages_per_block", s.kv_bytes / n},
          {"mamba_bytes_in_messages_per_block", s.mamba_bytes / n},
          {"shm_bytes_written_per_block", s.shm_bytes_written / n},
          {"denoise_block_message_bytes_without_cache", s.block_message_bytes / n},
          {"block_committed_message_bytes", s.committed_message_bytes / c},
          {"handle_publish_us", s.publish_ns / n / 1e3},
          {"block_round_trip_ms", s.round_trip_ns / c / 1e6}};
}

msg::context_stats stats_of(caf::actor_system& sys, const msg::context_actor& context) {
  caf::scoped_actor self{sys};
  msg::context_stats out;
  self->request(context, std::chrono::seconds(30), msg::stats_atom::value)
    .receive([&](msg::context_stats& s) { out = std::move(s); },
             [&](caf::error& e) { throw Error("stats from the context: " + sys.render(e)); });
  return out;
}

// Stats accumulated between two snapshots, per transport.
std::map<msg::cache_transport, msg::transport_stats> difference(const msg::context_stats& before,
                                                                const msg::context_stats& after) {
  std::map<msg::cache_transport, msg::transport_stats> out;
  for (const auto& a : after.transports) out[a.transport] = a;
  for (const auto& b : before.transports) {
    auto& d = out[b.transport];
    d.transport = b.transport;
    d.blocks -= b.blocks;
    d.committed -= b.committed;
    d.kv_bytes -= b.kv_bytes;
    d.mamba_bytes -= b.mamba_bytes;
    d.shm_bytes_written -= b.shm_bytes_written;
    d.block_message_bytes -= b.block_message_bytes;
    d.committed_message_bytes -= b.committed_message_bytes;
    d.publish_ns -= b.publish_ns;
    d.round_trip_ns -= b.round_trip_ns;
  }
  return out;
}

std::vector<GenerateRequest> make_requests(const Model& model, const ClusterBenchOptions& o, int count,
                                           int max_tokens) {
  const auto prompts = bench::make_prompts(model, count);
  std::vector<GenerateRequest> out(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    auto& r = out[static_cast<size_t>(i)];
    r.prompt = prompts[static_cast<size_t>(i)];
    r.mode = Mode::diffusion;
    r.max_tokens = max_tokens;
    r.diffusion.gamma = o.gamma;
    r.diffusion.block_size = o.block_size;
    r.diffusion.steps = o.steps;
  }
  return out;
}

}  // namespace

json run_cluster_bench(const ClusterBenchOptions& o) {
  for (const auto& t : o.transports) {
    TransportPolicy p{};
    if (!parse_transport_policy(t, p)) throw Error("--transports: '" + t + "' is not " + std::string(kTransportPolicies));
  }
  auto model = Model::load(o.model_dir);
  cpu::ThreadPool::set_global_threads(o.threads);
  Engine engine(*model);
  const auto requests = make_requests(*model, o, o.requests, o.max_tokens);
  const auto warm_up = make_requests(*model, o, 2, 8);

  char tmpl[] = "/tmp/tt-bench-cluster-XXXXXX";
  if (!mkdtemp(tmpl)) throw Error("cannot create a temporary directory under /tmp");
  const std::string dir = tmpl;
  ClusterConfig cfg;
  caf::actor_system sys{cfg};
  json out;
  {
    std::vector<std::unique_ptr<Cluster>> clusters;
    for (const auto& t : o.transports) {
      std::fprintf(stderr, "bench-cluster: starting the %s cluster (1 context + %d denoisers)\n", t.c_str(),
                   o.denoisers);
      clusters.push_back(start_cluster(sys, o, t, dir));
    }
    run_in_process_round(engine, warm_up);
    std::vector<msg::context_stats> before;
    for (auto& c : clusters) {
      run_cluster_round(sys, c->handle, warm_up);
      before.push_back(stats_of(sys, c->handle));
    }
    std::vector<Round> local;
    std::vector<std::vector<Round>> remote(clusters.size());
    for (int round = 0; round < o.rounds; ++round) {
      std::fprintf(stderr, "bench-cluster: round %d of %d\n", round + 1, o.rounds);
      local.push_back(run_in_process_round(engine, requests));
      for (size_t i = 0; i < clusters.size(); ++i) remote[i].push_back(run_cluster_round(sys, clusters[i]->handle, requests));
    }
    out["in_process"] = summarize(local);
    out["in_process"]["threads"] = o.threads;
    out["in_process"]["rss_bytes_of_this_process"] = rss_bytes(getpid());
    const double base = out["in_process"]["best_tokens_per_second"].get<double>();
    const double base_median = out["in_process"]["median_tokens_per_second"].get<double>();
    json cl = json::object();
    for (size_t i = 0; i < clusters.size(); ++i) {
      json j = summarize(remote[i]);
      j["ratio_vs_in_process_best"] = j["best_tokens_per_second"].get<double>() / base;
      j["ratio_vs_in_process_median"] = j["median_tokens_per_second"].get<double>() / base_median;
      bool same = true;
      for (const auto& r : remote[i]) same = same && r.tokens == local.front().tokens;
      j["same_tokens_as_in_process"] = same;
      json by = json::object();
      for (const auto& [t, s] : difference(before[i], stats_of(sys, clusters[i]->handle)))
        if (s.blocks > 0) by[msg::to_string(t)] = per_block(s);
      j["per_block_by_transport"] = by;
      // The context process loads the context tower only (its blocks go to the denoisers).
      json rss = {{"context", rss_bytes(clusters[i]->context.pid())}, {"denoisers", json::array()}};
      for (const auto& d : clusters[i]->denoisers) rss["denoisers"].push_back(rss_bytes(d.pid()));
      j["rss_bytes"] = rss;
      cl[clusters[i]->transport] = j;
    }
    out["cluster"] = cl;
  }
  std::system(("rm -rf " + dir).c_str());
  out["machine"] = bench::machine_info();
  out["machine"]["note"] = "figures compare variants run in the same process, rounds interleaved";
  out["workload"] = {{"model", model->dir},          {"requests", o.requests},   {"mode", "diffusion"},
                     {"max_tokens", o.max_tokens},   {"gamma", o.gamma},         {"block_size", o.block_size},
                     {"steps", o.steps},             {"denoisers", o.denoisers}, {"process_threads", o.process_threads},
                     {"rounds", o.rounds}};
  out["targets"] = {{"cluster_vs_in_process_ratio_at_least", 0.95}, {"shared_memory_kv_bytes_in_messages", 0}};
  return out;
}

}  // namespace tt::actors
