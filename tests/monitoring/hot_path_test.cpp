// The cost of recording a metric: ns per increment / observe on one and two
// threads, printed as JSON (figures, not assertions; only "nothing was lost").
#include <gtest/gtest.h>

#include <time.h>

#include <chrono>
#include <cstdio>
#include <iterator>
#include <thread>
#include <vector>

#include "monitoring/registry.hpp"

namespace {

using namespace tt::mon;

struct Cost {
  double wall_ns = 0;  // elapsed time / operations per thread
  double cpu_ns = 0;   // mean over threads of thread CPU time / operations (immune to preemption)
};

double thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return 1e9 * static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec);
}

// The cost of `op` per call with `threads` threads running it at once.
template <class Op>
Cost cost(int threads, int n, Op op) {
  std::vector<std::thread> pool;
  std::vector<double> cpu(threads);
  const auto t0 = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      const double c0 = thread_cpu_ns();
      for (int i = 0; i < n; ++i) op(t, i);
      cpu[t] = thread_cpu_ns() - c0;
    });
  for (auto& th : pool) th.join();
  const std::chrono::duration<double, std::nano> dt = std::chrono::steady_clock::now() - t0;
  Cost c{dt.count() / n, 0};
  for (double x : cpu) c.cpu_ns += x / n / threads;
  return c;
}

TEST(HotPath, NanosecondsPerOperation) {
  Registry r;
  auto& counters = r.counter("t_ops_total", "Ops.", {"thread"});
  Counter* own_counter[2] = {&counters.with({"thread", "0"}), &counters.with({"thread", "1"})};
  Counter& shared_counter = r.counter("t_shared_total", "Ops.").with();
  Gauge& gauge = r.gauge("t_level", "Level.").with();
  static constexpr double b[] = {0.001, 0.0025, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075,
                                 0.1,   0.15,   0.25,  0.5,  1,    2.5,   5};
  auto& hists = r.histogram("t_latency_seconds", "Latency.", {std::begin(b), std::end(b)}, {"thread"});
  Histogram* own_hist[2] = {&hists.with({"thread", "0"}), &hists.with({"thread", "1"})};
  Histogram& shared_hist = r.histogram("t_shared_seconds", "Latency.", {std::begin(b), std::end(b)}).with();

  constexpr int n = 2'000'000;
  const auto v = [](int i) { return 0.0001 * (i & 8191); };  // spread over the buckets
  struct Row {
    const char* op;
    Cost one_thread, two_threads;
  } rows[] = {
      {"counter.inc shared", cost(1, n, [&](int, int) { shared_counter.inc(); }),
       cost(2, n, [&](int, int) { shared_counter.inc(); })},
      {"counter.inc own child", cost(1, n, [&](int t, int) { own_counter[t]->inc(); }),
       cost(2, n, [&](int t, int) { own_counter[t]->inc(); })},
      {"counter.add(double) shared", cost(1, n, [&](int, int) { shared_counter.add(0.5); }),
       cost(2, n, [&](int, int) { shared_counter.add(0.5); })},
      {"gauge.inc shared", cost(1, n, [&](int, int) { gauge.inc(); }), cost(2, n, [&](int, int) { gauge.inc(); })},
      {"histogram.observe shared", cost(1, n, [&](int, int i) { shared_hist.observe(v(i)); }),
       cost(2, n, [&](int, int i) { shared_hist.observe(v(i)); })},
      {"histogram.observe own child", cost(1, n, [&](int t, int i) { own_hist[t]->observe(v(i)); }),
       cost(2, n, [&](int t, int i) { own_hist[t]->observe(v(i)); })},
  };
  double load = -1;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &load) != 1) load = -1;
    std::fclose(f);
  }
  std::printf("{\"hardware_threads\": %u, \"load_average_1min\": %.2f, \"ns_per_op\": [\n",
              std::thread::hardware_concurrency(), load);
  for (size_t i = 0; i < std::size(rows); ++i) {
    const Row& w = rows[i];
    std::printf("  {\"op\": \"%s\", \"cpu_1_thread\": %.1f, \"cpu_2_threads\": %.1f, \"wall_1_thread\": %.1f, "
                "\"wall_2_threads\": %.1f}%s\n",
                w.op, w.one_thread.cpu_ns, w.two_threads.cpu_ns, w.one_thread.wall_ns, w.two_threads.wall_ns,
                i + 1 < std::size(rows) ? "," : "");
  }
  std::printf("]}\n");
  EXPECT_EQ(shared_counter.value(), 3.0 * n + 1.5 * n);  // every op landed
}

}  // namespace
