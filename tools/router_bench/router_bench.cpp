// Router overhead benchmark: the same workload (C concurrent short greedy AR
// generations on a tiny model, R rounds) sent (a) straight to a context actor
// by CAF clients, as `generate --connect` does, and (b) through the router's
// HTTP API as SSE streams; prints JSON with per-request latencies of both,
// the router's overhead per request (b - a), the CPU time of the router and of
// the clients per request, and lost requests; once with every process on every
// core and once with the router on a core of its own (CPU 0; the rest on the
// other cores), which is what the ≤ 1 ms target is read from.
// Usage: router_bench [--binary PATH] [--model DIR] [--profile FILE] [--workloads paced,max_rate]
//                     [--concurrency 100] [--rounds 5] [--max-tokens 16] [--http-threads N]
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/child_process.hpp"
#include "actors/cluster_config.hpp"
#include "messages/bytes.hpp"
#include "messages/interfaces.hpp"
#include "tests/router/http_client.hpp"


namespace {

using clock_type = std::chrono::steady_clock;
using json = nlohmann::json;

struct Proc {
  pid_t pid = -1;
  std::string out;
};

Proc spawn(const std::string& binary, std::vector<std::string> args, const std::string& out, const std::string& err) {
  return Proc{tt::actors::spawn_with_output(binary, args, out, err), out};
}

// CPU seconds (user + system) a process has used so far, from /proc/PID/stat.
double cpu_seconds(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return 0;
  std::istringstream in(text.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && in >> field; ++i)
    if (i == 14 || i == 15) ticks += std::stod(field);  // utime, stime
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Moves every thread of `pid` (0: this process) onto `cpus`; false if any move fails.
bool pin(pid_t pid, const std::vector<int>& cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : cpus) CPU_SET(c, &set);
  const std::string dir = "/proc/" + (pid == 0 ? std::string("self") : std::to_string(pid)) + "/task";
  bool ok = true;
  std::error_code ec;
  for (const auto& t : std::filesystem::directory_iterator(dir, ec))
    ok = sched_setaffinity(static_cast<pid_t>(std::stoi(t.path().filename().string())), sizeof set, &set) == 0 && ok;
  return ok && !ec;
}

// CPU seconds (user + system) of this whole process so far.
double self_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

std::string listening(const Proc& p) {
  for (int i = 0; i < 6000; ++i) {
    std::ifstream in(p.out);
    std::string line;
    if (std::getline(in, line) && line.find("listening on ") != std::string::npos) return line.substr(13);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  throw std::runtime_error("a process did not start: " + p.out);
}

struct Stats {
  std::vector<double> ms;  // per completed request
  int lost = 0;
  double wall_s = 0;
  json to_json() {
    std::sort(ms.begin(), ms.end());
    auto q = [&](double f) { return ms.empty() ? 0.0 : ms[std::min(ms.size() - 1, static_cast<size_t>(f * ms.size()))]; };
    double sum = 0;
    for (double v : ms) sum += v;
    return json{{"completed", ms.size()}, {"lost", lost}, {"mean_ms", ms.empty() ? 0 : sum / ms.size()},
                {"p50_ms", q(0.5)}, {"p90_ms", q(0.9)}, {"p99_ms", q(0.99)}, {"wall_s", wall_s},
                {"requests_per_s", wall_s > 0 ? ms.size() / wall_s : 0}};
  }
};

// The router's own histogram twotower_router_overhead_seconds, read from its /metrics.
struct OverheadHistogram {
  double sum = 0, count = 0;
  std::vector<std::pair<double, double>> buckets;  // (le, cumulative count), +Inf last

  static OverheadHistogram scrape(uint16_t port) {
    OverheadHistogram h;
    std::istringstream in(tt::test::HttpClient(port).get("/metrics").body);
    const std::string name = "twotower_router_overhead_seconds";
    for (std::string line; std::getline(in, line);) {
      if (line.rfind(name, 0) != 0) continue;
      const double value = std::stod(line.substr(line.rfind(' ') + 1));
      if (line.rfind(name + "_sum ", 0) == 0) h.sum = value;
      else if (line.rfind(name + "_count ", 0) == 0) h.count = value;
      else if (line.rfind(name + "_bucket{le=\"", 0) == 0) {
        const std::string le = line.substr(name.size() + 12, line.find('"', name.size() + 12) - name.size() - 12);
        h.buckets.emplace_back(le == "+Inf" ? std::numeric_limits<double>::infinity() : std::stod(le), value);
      }
    }
    return h;
  }
  // What was recorded between `before` and this.
  json since(const OverheadHistogram& before) const {
    const double n = count - before.count;
    auto quantile = [&](double q) {  // upper bound of the bucket holding quantile q
      for (size_t i = 0; i < buckets.size() && i < before.buckets.size(); ++i)
        if (buckets[i].second - before.buckets[i].second >= q * n) return buckets[i].first;
      return std::numeric_limits<double>::infinity();
    };
    auto at_most = [&](double le) {
      for (size_t i = 0; i < buckets.size() && i < before.buckets.size(); ++i)
        if (buckets[i].first == le) return n > 0 ? (buckets[i].second - before.buckets[i].second) / n : 0.0;
      return 0.0;
    };
    return json{{"requests", n}, {"mean_ms", n > 0 ? 1000 * (sum - before.sum) / n : 0},
                {"p50_at_most_ms", 1000 * quantile(0.5)}, {"p99_at_most_ms", 1000 * quantile(0.99)},
                {"share_within_1ms", at_most(0.001)}};
  }
};

// One round of `c` concurrent requests straight to the context actor.
void direct_round(caf::actor_system& sys, const tt::msg::context_actor& ctx, int c, int max_tokens, Stats& st) {
  std::vector<std::thread> threads;
  std::vector<double> ms(c, -1);
  const auto start = clock_type::now();
  for (int i = 0; i < c; ++i)
    threads.emplace_back([&, i] {
      caf::scoped_actor self{sys};
      tt::msg::generate_request w;
      w.request_id = static_cast<uint64_t>(i + 1);
      const int32_t prompt[] = {1, 300, 301, 302, static_cast<int32_t>(i % 500 + 5)};
      w.prompt_tokens = tt::msg::pack_int32(prompt);
      w.mode = tt::msg::request_mode::ar;
      w.max_tokens = max_tokens;
      const auto t0 = clock_type::now();
      self->send(ctx, w, caf::actor_cast<tt::msg::client_actor>(self));
      bool done = false, ok = false;
      while (!done)
        self->receive([&](const tt::msg::token_chunk& ch) { done = ch.final, ok = ch.final && ch.finish != tt::msg::finish_reason::cancelled; },
                      [&](const tt::msg::request_error&) { done = true; },
                      caf::after(std::chrono::seconds(60)) >> [&] { done = true; });
      if (ok) ms[i] = std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
    });
  for (auto& t : threads) t.join();
  st.wall_s += std::chrono::duration<double>(clock_type::now() - start).count();
  for (double v : ms) v >= 0 ? st.ms.push_back(v) : void(st.lost++);
}

// The same round through the router (SSE streams, one connection each).
void router_round(uint16_t port, int c, int max_tokens, Stats& st) {
  std::vector<std::thread> threads;
  std::vector<double> ms(c, -1);
  const auto start = clock_type::now();
  for (int i = 0; i < c; ++i)
    threads.emplace_back([&, i] {
      try {
        tt::test::HttpClient client(port);
        const json body{{"model", "tiny-random"}, {"prompt", {1, 300, 301, 302, i % 500 + 5}}, {"max_tokens", max_tokens},
                        {"mode", "ar"}, {"stream", true}};
        const auto t0 = clock_type::now();
        if (client.start_stream("/v1/completions", body.dump()).status != 200) return;
        const auto events = client.all_events();
        if (events.empty() || events.back() != "[DONE]") return;
        ms[i] = std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
      } catch (const std::exception&) {
      }
    });
  for (auto& t : threads) t.join();
  st.wall_s += std::chrono::duration<double>(clock_type::now() - start).count();
  for (double v : ms) v >= 0 ? st.ms.push_back(v) : void(st.lost++);
}

struct Options {
  std::string binary, model, profile, workloads = "paced,max_rate";
  int concurrency = 100, rounds = 5, max_tokens = 16;
  std::vector<std::string> router_args;  // extra router options (--http-threads N)
};

// One workload: a context, a denoiser and a router started with `compute`
// (extra context/denoiser arguments), measured with every process on every core
// and then with the router on a core of its own; the processes are stopped after.
json run_workload(const Options& o, const std::vector<std::string>& compute, const std::string& dir) {
  std::vector<Proc> procs;
  auto stop_all = [&] {
    for (auto& p : procs)
      if (p.pid > 0) kill(p.pid, SIGTERM), waitpid(p.pid, nullptr, 0);
  };
  try {
    auto role = [&](std::vector<std::string> args) {
      args.insert(args.end(), compute.begin(), compute.end());
      return args;
    };
    procs.push_back(spawn(o.binary, role({"context", "--listen", "127.0.0.1:0", "--model", o.model, "--threads", "1"}),
                          dir + "/context.out", dir + "/context.err"));
    const std::string ctx_addr = listening(procs.back());
    procs.push_back(spawn(o.binary, role({"denoiser", "--context", ctx_addr, "--model", o.model, "--threads", "1"}),
                          dir + "/denoiser.out", dir + "/denoiser.err"));
    std::vector<std::string> router = {"router", "--listen", "127.0.0.1:0", "--context", ctx_addr, "--model", o.model,
                                       "--max-running", "1000", "--max-queue", "1000"};
    router.insert(router.end(), o.router_args.begin(), o.router_args.end());
    procs.push_back(spawn(o.binary, router, dir + "/router.out", dir + "/router.err"));
    const pid_t router_pid = procs.back().pid;
    const std::string r_addr = listening(procs.back());
    const auto port = static_cast<uint16_t>(std::stoi(r_addr.substr(r_addr.rfind(':') + 1)));
    for (int i = 0; i < 600 && tt::test::HttpClient(port).get("/ready").status != 200; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));

    tt::actors::ClusterConfig cfg;
    caf::actor_system sys{cfg};
    const auto colon = ctx_addr.rfind(':');
    auto ctx = sys.middleman().remote_actor<tt::msg::context_actor>(ctx_addr.substr(0, colon),
                                                                     static_cast<uint16_t>(std::stoi(ctx_addr.substr(colon + 1))));
    if (!ctx) throw std::runtime_error("cannot connect to the context actor");
    const int concurrency = o.concurrency, rounds = o.rounds, max_tokens = o.max_tokens;
    // Interleaved rounds: both variants see the same machine noise.
    auto measure = [&](int c, int n_rounds) {
      Stats direct, routed, warm;
      direct_round(sys, *ctx, c, max_tokens, warm);  // warm-up, not counted
      router_round(port, c, max_tokens, warm);
      double router_cpu = 0;  // the router process's own CPU time over the routed rounds
      double client_cpu_direct = 0, client_cpu_routed = 0;  // this program's (the clients') CPU time
      const auto overhead0 = OverheadHistogram::scrape(port);
      for (int r = 0; r < n_rounds; ++r) {
        double c0 = self_cpu_seconds();
        direct_round(sys, *ctx, c, max_tokens, direct);
        client_cpu_direct += self_cpu_seconds() - c0;
        const double cpu0 = cpu_seconds(router_pid);
        c0 = self_cpu_seconds();
        router_round(port, c, max_tokens, routed);
        client_cpu_routed += self_cpu_seconds() - c0;
        router_cpu += cpu_seconds(router_pid) - cpu0;
      }
      const json overhead = OverheadHistogram::scrape(port).since(overhead0);
      auto d = direct.to_json(), rt = routed.to_json();
      const double per = 1000.0 / std::max(1, c * n_rounds);
      return json{{"concurrency", c},
                  {"direct_caf", d},
                  {"router_http", rt},
                  // The router's own measure of the time each request spent in it
                  // (twotower_router_overhead_seconds): free of the batching and CPU
                  // contention that the latency difference below also holds.
                  {"router_measured_overhead", overhead},
                  {"overhead_ms_per_request", {{"mean", rt["mean_ms"].get<double>() - d["mean_ms"].get<double>()},
                                               {"p50", rt["p50_ms"].get<double>() - d["p50_ms"].get<double>()}}},
                  {"router_to_direct_wall_ratio",
                   d["wall_s"].get<double>() > 0 ? rt["wall_s"].get<double>() / d["wall_s"].get<double>() : 0},
                  // What the router itself costs per request, free of the queueing that C streams
                  // sharing this machine's cores add to the latency difference above.
                  {"router_cpu_ms_per_request", per * router_cpu},
                  {"client_cpu_ms_per_request", {{"direct_caf", per * client_cpu_direct}, {"router_http", per * client_cpu_routed}}},
                  {"lost", direct.lost + routed.lost}};
    };
    auto placement = [&](const std::vector<int>& router_cpus, const std::vector<int>& other_cpus) {
      bool ok = pin(router_pid, router_cpus) && pin(0, other_cpus);
      for (size_t i = 0; i + 1 < procs.size(); ++i) ok = pin(procs[i].pid, other_cpus) && ok;
      if (!ok) throw std::runtime_error("cannot set CPU affinity");
      json j{{"router_cpus", router_cpus}, {"other_cpus", other_cpus}};
      j["sequential"] = measure(1, std::max(20, rounds * 10));  // the router's own cost, no queueing
      j["concurrent"] = measure(concurrency, rounds);          // C streams at once
      j["lost"] = j["sequential"]["lost"].get<int>() + j["concurrent"]["lost"].get<int>();
      return j;
    };
    json out;
    std::vector<int> all(std::max(1u, std::thread::hardware_concurrency()));
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int>(i);
    // Every process on every core: the router's CPU time competes with the model's and the
    // clients', so on a machine with few cores the latency difference is mostly that CPU time.
    out["shared_cores"] = placement(all, all);
    int lost = out["shared_cores"]["lost"].get<int>();
    // The router on a core of its own, as in a deployment (the router does not share the
    // model's cores); the context, the denoiser and the clients share the others.
    if (all.size() >= 2) {
      out["router_own_core"] = placement({0}, std::vector<int>(all.begin() + 1, all.end()));
      lost += out["router_own_core"]["lost"].get<int>();
    }
    out["lost"] = lost;
    pin(0, all);
    stop_all();
    return out;
  } catch (...) {
    stop_all();
    throw;
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  o.binary = (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "twotower").string();
  o.model = std::string(TWOTOWER_SOURCE_DIR) + "/tests/data/tiny-random";
  o.profile = std::string(TWOTOWER_SOURCE_DIR) + "/profiles/nemotron-twotower-30b-h100.json";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--binary") o.binary = v;
    else if (k == "--model") o.model = v;
    else if (k == "--profile") o.profile = v;
    else if (k == "--workloads") o.workloads = v;
    else if (k == "--http-threads") o.router_args = {"--http-threads", v};
    else if (k == "--concurrency") o.concurrency = std::stoi(v);
    else if (k == "--rounds") o.rounds = std::stoi(v);
    else if (k == "--max-tokens") o.max_tokens = std::stoi(v);
    else return std::cerr << "router_bench: unknown option " << k << "\n", 2;
  }
  const std::string dir = std::filesystem::temp_directory_path() / ("tt-router-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  int status = 0;
  try {
    json out;
    out["benchmark"] = "router_overhead";
    out["workload"] = json{{"rounds", o.rounds}, {"concurrency", o.concurrency}, {"max_tokens", o.max_tokens},
                           {"mode", "ar"}, {"model", o.model},
                           {"router_transport", "HTTP/1.1 SSE, one connection per stream"}};
    // Tokens paced like the real model: mock compute taking the profile's time per forward
    // (the 30B model on H100: about 27 ms per AR step of 100 sequences), so the router sees
    // the event rate of a real deployment. The target is read from this one.
    int lost = 0;
    if (o.workloads.find("paced") != std::string::npos) {
      out["paced"] = run_workload(o, {"--compute", "mock", "--profile", o.profile}, dir);
      out["paced"]["profile"] = o.profile;
      lost += out["paced"]["lost"].get<int>();
    }
    // The tiny model computed for real: a step of 100 sequences takes a few ms, so events
    // arrive as fast as this machine can make them; a stress test of the router's CPU cost.
    if (o.workloads.find("max_rate") != std::string::npos) {
      out["max_rate"] = run_workload(o, {}, dir);
      lost += out["max_rate"]["lost"].get<int>();
    }
    if (out.contains("paced") && out["paced"].contains("router_own_core")) {
      const double overhead = out["paced"]["router_own_core"]["concurrent"]["router_measured_overhead"]["mean_ms"].get<double>();
      out["target"] = json{{"measure", "paced.router_own_core.concurrent.router_measured_overhead.mean_ms"},
                           {"value_ms", overhead}, {"limit_ms", 1.0}, {"met", overhead <= 1.0}};
    }
    out["lost_requests"] = lost;
    std::cout << out.dump(2) << "\n";
    status = lost == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "router_bench: " << e.what() << "\n";
    status = 2;
  }
  std::filesystem::remove_all(dir);
  return status;
}
