// tt_cuda_bench: times every CUDA kernel at the 30B model's shapes and prints
// JSON with achieved GB/s and GFLOP/s next to the card's peaks (from the
// device attributes). Decode-shaped kernels are judged by bandwidth, large
// GEMMs by FLOPs. Usage: tt_cuda_bench [--quick] [--device N]
#include <cuda_runtime_api.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "kernels/cuda/attention.hpp"
#include "kernels/cuda/bench_stack.hpp"
#include "kernels/cuda/bench_util.hpp"
#include "kernels/cuda/conv1d.hpp"
#include "kernels/cuda/device.hpp"
#include "kernels/cuda/gemm.hpp"
#include "kernels/cuda/moe.hpp"
#include "kernels/cuda/norm.hpp"
#include "kernels/cuda/sampling.hpp"
#include "kernels/cuda/ssm_scan.hpp"

namespace {

using tt::cuda::DeviceBuffer;
using tt::cuda::bench::rand_bf16;
using tt::cuda::bench::rand_f;
using tt::cuda::bench::time_call;
using json = nlohmann::json;

struct Peak {
  double gb_s, bf16_tflops, fp32_tflops;
};

json entry(const std::string& kernel, const std::string& shape, double seconds, double bytes, double flops,
           const Peak& p, bool tensor_cores) {
  const double gbs = bytes / seconds / 1e9, gflops = flops / seconds / 1e9;
  const double peak_flops = (tensor_cores ? p.bf16_tflops : p.fp32_tflops) * 1e3;
  return {{"kernel", kernel},
          {"shape", shape},
          {"us", seconds * 1e6},
          {"gb_per_s", gbs},
          {"gflop_per_s", gflops},
          {"bandwidth_fraction", gbs / p.gb_s},
          {"flops_fraction", peak_flops > 0 ? gflops / peak_flops : 0.0}};
}

}  // namespace

int main(int argc, char** argv) {
  int device = 0;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) tt::cuda::bench::g_min_seconds = 0.03, quick = true;
    else if (std::strcmp(argv[i], "--device") == 0 && i + 1 < argc) device = std::atoi(argv[++i]);
    else return std::fprintf(stderr, "usage: tt_cuda_bench [--quick] [--device N]\n"), 2;
  }
  if (tt::cuda::device_count() == 0) {
    std::cout << json{{"error", "no CUDA device"}}.dump() << "\n";
    return 3;
  }
  try {
    tt::cuda::check(cudaSetDevice(device), "cudaSetDevice");
    const auto info = tt::cuda::device_info(device);
    const Peak peak{info.peak_gb_per_s, info.peak_bf16_tflops, info.peak_fp32_tflops};
    json out;
    out["device"] = {{"name", info.name}, {"sm", info.sm}, {"multiprocessors", info.multiprocessors},
                     {"memory_bytes", info.memory_bytes}, {"peak_gb_per_s", info.peak_gb_per_s},
                     {"peak_bf16_tflops", info.peak_bf16_tflops}, {"peak_fp32_tflops", info.peak_fp32_tflops}};
    json rows = json::array();
    const int H = 2688, V = 131072;

    // GEMM (cuBLAS, bf16 weights): 30B projections at decode and prefill row counts.
    tt::cuda::Blas blas;
    struct G { const char* name; int n, k; };
    for (const G g : {G{"in_proj", 10304, 2688}, G{"out_proj", 2688, 4096}, G{"q_proj", 4096, 2688},
                      G{"lm_head", V, 2688}}) {
      auto w = rand_bf16(size_t(g.n) * g.k, 1);
      for (int m : {1, 8, 32, 256, 2048}) {
        if (g.n == V && m > 256) continue;
        auto x = rand_f(size_t(m) * g.k, -1, 1, 2);
        DeviceBuffer<float> y(size_t(m) * g.n);
        const tt::cuda::DeviceWeight dw{w.get(), g.n, g.k};
        const double s = time_call([&] { tt::cuda::gemm(blas, x.get(), m, g.k, dw, y.get(), g.n); });
        const double bytes = 2.0 * g.n * g.k + 4.0 * m * g.k + 2.0 * m * g.k + 4.0 * m * g.n;
        rows.push_back(entry(std::string("gemm.") + g.name, "m=" + std::to_string(m), s, bytes,
                             2.0 * m * g.n * g.k, peak, true));
      }
    }

    // MoE: router + grouped experts (128 experts, top 6, width 1856).
    {
      const int E = 128, I = 1856, k = 6;
      auto up = rand_bf16(size_t(E) * I * H, 3), down = rand_bf16(size_t(E) * H * I, 4);
      auto gate = rand_f(size_t(E) * H, -0.05f, 0.05f, 5), bias = rand_f(E, -0.01f, 0.01f, 6);
      for (int T : {1, 8, 32, 512}) {
        auto x = rand_f(size_t(T) * H, -1, 1, 7);
        DeviceBuffer<int> experts(size_t(T) * k);
        DeviceBuffer<float> weights(size_t(T) * k), out(size_t(T) * H);
        const tt::cuda::RouterShape rs{E, k, 2.5f, true};
        const double sr = time_call([&] {
          tt::cuda::moe_route(x.get(), T, H, gate.get(), bias.get(), rs, experts.get(), weights.get());
        });
        rows.push_back(entry("moe.router", "T=" + std::to_string(T), sr, 4.0 * E * H + 4.0 * T * H,
                             2.0 * T * E * H, peak, false));
        const auto routed = experts.download();
        const std::set<int> used(routed.begin(), routed.end());
        const double se = time_call([&] {
          tt::cuda::moe_experts(x.get(), T, H, experts.get(), weights.get(), k, {up.get(), down.get(), E, I},
                                out.get());
        });
        rows.push_back(entry("moe.experts", "T=" + std::to_string(T) + " experts=" + std::to_string(used.size()), se,
                             used.size() * 2.0 * I * H * 2.0 + 8.0 * T * H, 4.0 * T * k * I * H, peak, false));
      }
    }

    // Mamba-2: conv, single-step update, chunked prefill scan (64 heads x 64 x 128).
    {
      const int nh = 64, hd = 64, G = 8, N = 128, Cd = 6144;
      const tt::cuda::SsmShape ss{nh, hd, G, N};
      for (int T : {1, 16, 2048}) {
        auto xbc = rand_f(size_t(T) * Cd, -1, 1, 8), hist = rand_f(3 * Cd, -1, 1, 9), cw = rand_f(Cd * 4, -1, 1, 10),
             cb = rand_f(Cd, -1, 1, 11);
        DeviceBuffer<float> co(size_t(T) * Cd);
        const double sc = time_call(
            [&] { tt::cuda::causal_conv1d_silu(xbc.get(), T, Cd, hist.get(), 4, cw.get(), cb.get(), co.get()); });
        rows.push_back(entry("conv1d", "T=" + std::to_string(T), sc, 8.0 * T * Cd + 12.0 * Cd + 20.0 * Cd,
                             8.0 * T * Cd, peak, false));
        auto x = rand_f(size_t(T) * nh * hd, -1, 1, 12), dt = rand_f(size_t(T) * nh, -4, 1, 13),
             B = rand_f(size_t(T) * G * N, -1, 1, 14), C = rand_f(size_t(T) * G * N, -1, 1, 15),
             A = rand_f(nh, -1, 1, 16), D = rand_f(nh, 0, 1, 17), db = rand_f(nh, -1, 1, 18),
             st = rand_f(size_t(nh) * hd * N, -1, 1, 19);
        DeviceBuffer<float> y(size_t(T) * nh * hd);
        const double state_bytes = 8.0 * nh * hd * N;
        const double io = 4.0 * T * (2.0 * nh * hd + 2.0 * G * N + nh);
        const double flops = 5.0 * T * nh * hd * N;
        const double s1 = time_call([&] {
          tt::cuda::ssm_scan_recurrent(x.get(), dt.get(), B.get(), C.get(), T, A.get(), D.get(), db.get(), ss,
                                       st.get(), y.get());
        });
        rows.push_back(entry("ssm.recurrent", "T=" + std::to_string(T), s1, state_bytes + io, flops, peak, false));
        if (T > 16) {
          const double s2 = time_call([&] {
            tt::cuda::ssm_scan_chunked(x.get(), dt.get(), B.get(), C.get(), T, A.get(), D.get(), db.get(), ss,
                                       st.get(), y.get(), 128);
          });
          rows.push_back(entry("ssm.chunked", "T=" + std::to_string(T) + " chunk=128", s2, state_bytes + io,
                               2 * flops, peak, false));
        }
      }
    }

    // Attention (32 q heads, 2 kv heads, 128): decode, denoiser block, prefill.
    {
      const tt::cuda::AttentionShape as{32, 2, 128};
      struct A { const char* name; int n_ctx, n_q; bool causal; };
      for (const A a : {A{"decode", 4096, 1, true}, A{"block", 4096, 16, false}, A{"prefill", 0, 2048, true}}) {
        const size_t kd = 256, qd = 4096;
        auto q = rand_f(a.n_q * qd, -1, 1, 20), kc = rand_f(std::max(a.n_ctx, 1) * kd, -1, 1, 21),
             vc = rand_f(std::max(a.n_ctx, 1) * kd, -1, 1, 22), kn = rand_f(a.n_q * kd, -1, 1, 23),
             vn = rand_f(a.n_q * kd, -1, 1, 24);
        DeviceBuffer<float> o(a.n_q * qd);
        const double s = time_call([&] {
          tt::cuda::attention(q.get(), a.n_q, kc.get(), vc.get(), a.n_ctx, kn.get(), vn.get(), a.causal, as, o.get());
        });
        const double keys = a.n_ctx + (a.causal ? (a.n_q + 1) / 2.0 : a.n_q);
        rows.push_back(entry(std::string("attention.") + a.name, "ctx=" + std::to_string(a.n_ctx) + " q=" + std::to_string(a.n_q),
                             s, 8.0 * (a.n_ctx + a.n_q) * kd + 8.0 * a.n_q * qd, 4.0 * a.n_q * keys * qd, peak, false));
      }
    }

    // Norms and token choice at denoiser-block shapes (16 rows per block).
    for (int rows_n : {16, 512}) {
      auto x = rand_f(size_t(rows_n) * H, -1, 1, 25), w = rand_f(H, 0, 1, 26);
      DeviceBuffer<float> y(size_t(rows_n) * H);
      const double s = time_call([&] { tt::cuda::rms_norm(x.get(), w.get(), y.get(), rows_n, H, 1e-5f); });
      rows.push_back(entry("rms_norm", "rows=" + std::to_string(rows_n), s, 8.0 * rows_n * H, 4.0 * rows_n * H, peak, false));
      auto l = rand_f(size_t(rows_n) * V, -8, 8, 27);
      std::vector<uint64_t> hs(rows_n);
      for (int r = 0; r < rows_n; ++r) hs[r] = r;
      DeviceBuffer<uint64_t> streams(hs);
      DeviceBuffer<int32_t> tok(rows_n);
      DeviceBuffer<float> conf(rows_n);
      for (float temp : {0.0f, 0.8f}) {
        const double sp = time_call(
            [&] { tt::cuda::pick_tokens(l.get(), rows_n, V, 3, temp, 1, streams.get(), tok.get(), conf.get()); });
        rows.push_back(entry(temp > 0 ? "pick_tokens.gumbel" : "pick_tokens.greedy", "rows=" + std::to_string(rows_n),
                             sp, 4.0 * rows_n * V, 3.0 * rows_n * V, peak, false));
      }
    }
    out["kernels"] = rows;
    std::cerr << "kernels done; layer stack\n";
    out["layer_stack"] = tt::cuda::bench::run_layer_stack(2048, quick ? std::vector<int>{1, 8} : std::vector<int>{1, 8, 32});
    std::cout << out.dump(2) << "\n";
  } catch (const std::exception& e) {
    std::cout << json{{"error", e.what()}}.dump() << "\n";
    return 1;
  }
  return 0;
}
