// Router overhead benchmark: the same workload (C concurrent short greedy AR
// generations on a tiny model, R rounds) sent (a) straight to a context actor
// by CAF clients, as `generate --connect` does, and (b) through the router's
// HTTP API as SSE streams; prints JSON with per-request latencies of both,
// the router's overhead per request (b - a) and lost requests.
// Usage: router_bench [--binary PATH] [--model DIR] [--concurrency 100] [--rounds 5] [--max-tokens 16]
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
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

}  // namespace

int main(int argc, char** argv) {
  std::string binary = (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "twotower").string();
  std::string model = std::string(TWOTOWER_SOURCE_DIR) + "/tests/data/tiny-random";
  int concurrency = 100, rounds = 5, max_tokens = 16;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--binary") binary = v;
    else if (k == "--model") model = v;
    else if (k == "--concurrency") concurrency = std::stoi(v);
    else if (k == "--rounds") rounds = std::stoi(v);
    else if (k == "--max-tokens") max_tokens = std::stoi(v);
    else return std::cerr << "router_bench: unknown option " << k << "\n", 2;
  }
  const std::string dir = std::filesystem::temp_directory_path() / ("tt-router-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::vector<Proc> procs;
  int status = 0;
  try {
    procs.push_back(spawn(binary, {"context", "--listen", "127.0.0.1:0", "--model", model, "--threads", "1"},
                          dir + "/context.out", dir + "/context.err"));
    const std::string ctx_addr = listening(procs.back());
    procs.push_back(spawn(binary, {"denoiser", "--context", ctx_addr, "--model", model, "--threads", "1"},
                          dir + "/denoiser.out", dir + "/denoiser.err"));
    procs.push_back(spawn(binary, {"router", "--listen", "127.0.0.1:0", "--context", ctx_addr, "--model", model,
                                   "--max-running", "1000", "--max-queue", "1000"},
                          dir + "/router.out", dir + "/router.err"));
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
    // Interleaved rounds: both variants see the same machine noise.
    auto measure = [&](int c, int n_rounds) {
      Stats direct, routed, warm;
      direct_round(sys, *ctx, c, max_tokens, warm);  // warm-up, not counted
      router_round(port, c, max_tokens, warm);
      double router_cpu = 0;  // the router process's own CPU time over the routed rounds
      for (int r = 0; r < n_rounds; ++r) {
        direct_round(sys, *ctx, c, max_tokens, direct);
        const double cpu0 = cpu_seconds(router_pid);
        router_round(port, c, max_tokens, routed);
        router_cpu += cpu_seconds(router_pid) - cpu0;
      }
      auto d = direct.to_json(), rt = routed.to_json();
      return json{{"concurrency", c},
                  {"direct_caf", d},
                  {"router_http", rt},
                  {"overhead_ms_per_request", {{"mean", rt["mean_ms"].get<double>() - d["mean_ms"].get<double>()},
                                               {"p50", rt["p50_ms"].get<double>() - d["p50_ms"].get<double>()}}},
                  {"router_to_direct_wall_ratio",
                   d["wall_s"].get<double>() > 0 ? rt["wall_s"].get<double>() / d["wall_s"].get<double>() : 0},
                  // What the router itself costs per request, free of the queueing that C streams
                  // sharing this machine's cores add to the latency difference above.
                  {"router_cpu_ms_per_request", 1000.0 * router_cpu / std::max(1, c * n_rounds)},
                  {"lost", direct.lost + routed.lost}};
    };
    json out;
    out["benchmark"] = "router_overhead";
    out["workload"] = json{{"rounds", rounds}, {"max_tokens", max_tokens}, {"mode", "ar"}, {"model", model},
                           {"router_transport", "HTTP/1.1 SSE, one connection per stream"}};
    out["sequential"] = measure(1, std::max(20, rounds * 10));  // the router's own cost, no queueing
    out["concurrent"] = measure(concurrency, rounds);          // C streams at once
    out["lost_requests"] = out["sequential"]["lost"].get<int>() + out["concurrent"]["lost"].get<int>();
    std::cout << out.dump(2) << "\n";
    status = out["lost_requests"].get<int>() == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "router_bench: " << e.what() << "\n";
    status = 2;
  }
  for (auto& p : procs)
    if (p.pid > 0) kill(p.pid, SIGTERM), waitpid(p.pid, nullptr, 0);
  std::filesystem::remove_all(dir);
  return status;
}
