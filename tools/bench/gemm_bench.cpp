#include "tools/bench/gemm_bench.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/cpu/gemm.hpp"
#include "kernels/cpu/gemm_microkernel.hpp"
#include "kernels/cpu/thread_pool.hpp"

namespace tt::bench {

namespace {

using Clock = std::chrono::steady_clock;
using cpu::ThreadPool;
using cpu::gemm_detail::V16;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Register-resident FMA loop: kChains independent chains, enough to cover
// latency x throughput of the FMA units on current cores while staying in
// registers (a V16 is one zmm, or two ymm on AVX2). Returns a value derived
// from the result so the loop cannot be optimised away.
constexpr int kChains = std::string_view(cpu::gemm_detail::kIsa) == "avx512" ? 12
                        : std::string_view(cpu::gemm_detail::kIsa) == "avx2" ? 6
                                                                              : 4;

__attribute__((noinline)) float fma_loop(int64_t iters, float seed) {
  using namespace cpu::gemm_detail;
  V16 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = vbcast(seed + 0.001f * static_cast<float>(c));
  const V16 mul = vbcast(0.999999f);
  const V16 add = vbcast(1e-7f);
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 16
    for (int c = 0; c < kChains; ++c) acc[c] = vfma(acc[c], mul, add);
  }
  // Depend on every lane of every chain, or the compiler drops dead lanes.
  float out[16];
  float s = 0.0f;
  for (int c = 0; c < kChains; ++c) {
    vstore(out, acc[c]);
    for (float v : out) s += v;
  }
  return s;
}

// FLOP/s of fma_loop on every thread of the pool at once.
double measure_peak_gflops(double seconds) {
  ThreadPool& pool = ThreadPool::global();
  const int threads = pool.size();
  std::atomic<uint32_t> sink{0};
  auto run = [&](int64_t iters) {
    auto t0 = Clock::now();
    pool.parallel_for(threads, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) {
        float r = fma_loop(iters, 1.0f + static_cast<float>(t));
        uint32_t u;
        __builtin_memcpy(&u, &r, 4);
        sink.fetch_xor(u, std::memory_order_relaxed);
      }
    });
    return seconds_since(t0);
  };
  // Calibrate to ~seconds (at least ~5 ms per measurement), keep the best.
  int64_t iters = 1 << 16;
  double t = run(iters);
  while (t < 0.005) {
    iters *= 4;
    t = run(iters);
  }
  const int reps = std::max(2, static_cast<int>(seconds / t + 0.5));
  double best = t;
  for (int r = 0; r < reps; ++r) best = std::min(best, run(iters));
  const double flops = static_cast<double>(iters) * kChains * 16 * 2 * threads;
  return flops / best * 1e-9;
}

uint32_t xorshift(uint32_t& s) {
  s ^= s << 13;
  s ^= s >> 17;
  s ^= s << 5;
  return s;
}
float uniform(uint32_t& s) {  // [-1, 1)
  return static_cast<float>(xorshift(s) >> 8) * (2.0f / 16777216.0f) - 1.0f;
}

// A packed weight with random contents, filled in place (packing an
// equivalent row-major matrix would only cost time: contents do not matter).
cpu::PackedWeight random_packed(int n, int k, cpu::WeightType type, uint32_t seed) {
  cpu::PackedWeight pw;
  pw.n = n;
  pw.k = k;
  pw.type = type;
  const int panels = (n + cpu::kGemmPanel - 1) / cpu::kGemmPanel;
  const size_t count = static_cast<size_t>(panels) * static_cast<size_t>(k) * cpu::kGemmPanel;
  if (type == cpu::WeightType::bf16)
    pw.bf16.resize(count);
  else
    pw.f32.resize(count);
  const int64_t chunk = 1 << 16;
  const int64_t chunks = static_cast<int64_t>((count + chunk - 1) / chunk);
  ThreadPool::global().parallel_for(chunks, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      uint32_t s = seed * 2654435761u + static_cast<uint32_t>(c) * 40503u + 1u;
      const size_t b = static_cast<size_t>(c * chunk);
      const size_t e = std::min(count, b + chunk);
      for (size_t i = b; i < e; ++i) {
        // Zero the padding columns like pack_weight_* does.
        const bool pad = static_cast<int>((i / cpu::kGemmPanel / k) * cpu::kGemmPanel +
                                          i % cpu::kGemmPanel) >= n;
        const float v = pad ? 0.0f : uniform(s) * 0.05f;
        if (type == cpu::WeightType::bf16)
          pw.bf16[i] = cpu::f32_to_bf16(v);
        else
          pw.f32[i] = v;
      }
    }
  });
  return pw;
}

// Memory the kernel could give us (MemAvailable counts reclaimable cache).
double available_bytes() {
  if (FILE* f = std::fopen("/proc/meminfo", "r")) {
    char line[256];
    double kb = -1;
    while (std::fgets(line, sizeof(line), f))
      if (std::sscanf(line, "MemAvailable: %lf kB", &kb) == 1) break;
    std::fclose(f);
    if (kb >= 0) return kb * 1024.0;
  }
  const long pages = sysconf(_SC_AVPHYS_PAGES);
  const long page = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return 0.0;
  return static_cast<double>(pages) * static_cast<double>(page);
}

struct Case {
  std::string name;
  int m, n, k;
  cpu::WeightType type;
};

// Runs one case over the given weight copies (rotating, so each call sees
// weights that are not in cache when the copies exceed the LLC).
nlohmann::json time_case(const Case& c, const std::vector<const cpu::PackedWeight*>& weights,
                         double seconds, double peak_gflops) {
  std::vector<float> x(static_cast<size_t>(c.m) * c.k);
  uint32_t s = 12345u + static_cast<uint32_t>(c.m);
  for (float& v : x) v = uniform(s);
  std::vector<float> y(static_cast<size_t>(c.m) * c.n);

  size_t next = 0;
  auto call = [&] {
    cpu::gemm(x.data(), c.m, c.k, *weights[next], y.data(), c.n);
    next = (next + 1) % weights.size();
  };
  call();  // warm-up (page faults on y, thread start-up)
  std::vector<double> times;
  auto t0 = Clock::now();
  do {
    auto t1 = Clock::now();
    call();
    times.push_back(seconds_since(t1));
  } while (times.size() < 2 || seconds_since(t0) < seconds);
  const double mean = seconds_since(t0) / static_cast<double>(times.size());
  std::sort(times.begin(), times.end());
  const double best = times.front();
  const double median = times[times.size() / 2];

  const double flop = 2.0 * c.m * static_cast<double>(c.n) * c.k;
  const double wbytes = static_cast<double>(weights[0]->bytes());
  nlohmann::json j;
  j["name"] = c.name;
  j["m"] = c.m;
  j["n"] = c.n;
  j["k"] = c.k;
  j["weights"] = c.type == cpu::WeightType::bf16 ? "bf16" : "f32";
  j["skipped"] = false;
  j["weight_copies"] = weights.size();
  j["calls"] = times.size();
  j["seconds_per_call"] = median;
  j["mean_seconds_per_call"] = mean;
  j["best_seconds_per_call"] = best;
  j["gflops"] = flop / median * 1e-9;
  j["best_gflops"] = flop / best * 1e-9;
  j["fraction_of_peak"] = peak_gflops > 0 ? flop / median * 1e-9 / peak_gflops : 0.0;
  j["best_fraction_of_peak"] = peak_gflops > 0 ? flop / best * 1e-9 / peak_gflops : 0.0;
  j["weight_gbps"] = wbytes / median * 1e-9;
  j["best_weight_gbps"] = wbytes / best * 1e-9;
  return j;
}

nlohmann::json skipped(const Case& c, const char* why) {
  nlohmann::json j;
  j["name"] = c.name;
  j["m"] = c.m;
  j["n"] = c.n;
  j["k"] = c.k;
  j["weights"] = c.type == cpu::WeightType::bf16 ? "bf16" : "f32";
  j["skipped"] = true;
  j["reason"] = why;
  return j;
}

}  // namespace

nlohmann::json run_gemm_bench(double seconds_per_case) {
  if (!(seconds_per_case > 0)) seconds_per_case = 0.01;
  ThreadPool& pool = ThreadPool::global();
  nlohmann::json out;
  out["isa"] = cpu::gemm_isa();
  out["threads"] = pool.size();
  out["seconds_per_case"] = seconds_per_case;
  const double peak = measure_peak_gflops(seconds_per_case);
  out["peak_gflops"] = peak;

  nlohmann::json cases = nlohmann::json::array();
  // Decode shapes: enough copies of each weight to exceed a 32 MiB LLC
  // twice over, so the weights stream from DRAM as they do in the model.
  const double kColdBytes = 96.0 * (1 << 20);
  struct Shape {
    const char* tag;
    int n, k;
  };
  const Shape decode_shapes[] = {{"attn_2688x2688", 2688, 2688},
                                 {"moe_expert_1856x2688", 1856, 2688},
                                 {"lm_head_131072x2688", 131072, 2688}};
  for (const Shape& sh : decode_shapes) {
    const double bytes = 2.0 * sh.n * static_cast<double>(sh.k);
    const int copies = std::max(1, static_cast<int>(kColdBytes / bytes + 0.999));
    Case c1{std::string("decode_m1_bf16_") + sh.tag, 1, sh.n, sh.k, cpu::WeightType::bf16};
    Case c16{std::string("decode_m16_bf16_") + sh.tag, 16, sh.n, sh.k, cpu::WeightType::bf16};
    if (bytes * copies * 1.5 + (64 << 20) > available_bytes()) {
      cases.push_back(skipped(c1, "not enough free memory"));
      cases.push_back(skipped(c16, "not enough free memory"));
      continue;
    }
    std::vector<cpu::PackedWeight> ws;
    ws.reserve(static_cast<size_t>(copies));
    for (int i = 0; i < copies; ++i)
      ws.push_back(random_packed(sh.n, sh.k, cpu::WeightType::bf16, static_cast<uint32_t>(i + 1)));
    std::vector<const cpu::PackedWeight*> ptrs;
    for (const auto& w : ws) ptrs.push_back(&w);
    cases.push_back(time_case(c1, ptrs, seconds_per_case, peak));
    cases.push_back(time_case(c16, ptrs, seconds_per_case, peak));
  }
  {
    Case c{"prefill_m256_f32_1024x1024", 256, 1024, 1024, cpu::WeightType::f32};
    cpu::PackedWeight w = random_packed(c.n, c.k, c.type, 99u);
    cases.push_back(time_case(c, {&w}, seconds_per_case, peak));
  }
  out["cases"] = std::move(cases);
  return out;
}

}  // namespace tt::bench
