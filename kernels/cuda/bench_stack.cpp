// Real-size layer stack on the GPU: norms, cuBLAS projections, conv, seeded
// scan, gated norm, attention over [context ; block], MoE routing and grouped
// experts, composed as the tower does (per-sequence conv/scan/attention).
#include "kernels/cuda/bench_stack.hpp"

#include <cublas_v2.h>

#include <stdexcept>

#include "kernels/cuda/attention.hpp"
#include "kernels/cuda/bench_util.hpp"
#include "kernels/cuda/conv1d.hpp"
#include "kernels/cuda/gemm.hpp"
#include "kernels/cuda/moe.hpp"
#include "kernels/cuda/norm.hpp"
#include "kernels/cuda/ssm_scan.hpp"

namespace tt::cuda::bench {
namespace {

constexpr int H = 2688, S = 16;
constexpr int NH = 64, HD = 64, G = 8, N = 128, DI = NH * HD, CD = DI + 2 * G * N, IP = DI + CD + NH;
constexpr int QH = 32, KVH = 2, AHD = 128;
constexpr int E = 128, TOPK = 6, EI = 1856, SI = 3712;

// Copies columns [col, col + width) of rows x ld floats into a dense [rows, width].
void columns(const float* src, int ld, int col, int width, int rows, float* dst) {
  check(cudaMemcpy2DAsync(dst, sizeof(float) * width, src + col, sizeof(float) * ld, sizeof(float) * width, rows,
                          cudaMemcpyDeviceToDevice, nullptr),
        "cudaMemcpy2DAsync");
}

struct Stack {
  // weights
  DeviceBuffer<uint16_t> in_proj = rand_bf16(size_t(IP) * H, 1), out_proj = rand_bf16(size_t(H) * DI, 2);
  DeviceBuffer<float> conv_w = rand_f(size_t(CD) * 4, -0.5f, 0.5f, 3), conv_b = rand_f(CD, -0.1f, 0.1f, 4);
  DeviceBuffer<float> A_log = rand_f(NH, -1, 1, 5), D = rand_f(NH, 0, 1, 6), dt_bias = rand_f(NH, -1, 1, 7);
  DeviceBuffer<float> gnorm = rand_f(DI, 0.5f, 1.5f, 8), norm = rand_f(H, 0.5f, 1.5f, 9);
  DeviceBuffer<uint16_t> wq = rand_bf16(size_t(QH) * AHD * H, 10), wk = rand_bf16(size_t(KVH) * AHD * H, 11),
                         wv = rand_bf16(size_t(KVH) * AHD * H, 12), wo = rand_bf16(size_t(H) * QH * AHD, 13);
  DeviceBuffer<float> gate = rand_f(size_t(E) * H, -0.05f, 0.05f, 14), gate_bias = rand_f(E, -0.01f, 0.01f, 15);
  DeviceBuffer<uint16_t> up = rand_bf16(size_t(E) * EI * H, 16), down = rand_bf16(size_t(E) * H * EI, 17);
  DeviceBuffer<uint16_t> sup = rand_bf16(size_t(SI) * H, 18), sdown = rand_bf16(size_t(H) * SI, 19);
  Blas blas;
};

struct Batch {
  int b, R, ctx;
  DeviceBuffer<float> h, u, p, xbc, conv, xs, Bs, Cs, dts, z, y, hist, seed, work, q, k, v, att, kc, vc, mo, mid, ew;
  DeviceBuffer<int> experts;
  Batch(int b_, int context)
      : b(b_), R(b_ * S), ctx(context), h(rand_f(size_t(R) * H, -1, 1, 20)), u(size_t(R) * H), p(size_t(R) * IP),
        xbc(size_t(R) * CD), conv(size_t(R) * CD), xs(size_t(R) * DI), Bs(size_t(R) * G * N), Cs(size_t(R) * G * N),
        dts(size_t(R) * NH), z(size_t(R) * DI), y(size_t(R) * DI), hist(rand_f(size_t(b) * 3 * CD, -1, 1, 21)),
        seed(rand_f(size_t(b) * NH * HD * N, -0.1f, 0.1f, 22)), work(size_t(b) * NH * HD * N),
        q(size_t(R) * QH * AHD), k(size_t(R) * KVH * AHD), v(size_t(R) * KVH * AHD), att(size_t(R) * QH * AHD),
        kc(rand_f(size_t(b) * context * KVH * AHD, -1, 1, 23)), vc(rand_f(size_t(b) * context * KVH * AHD, -1, 1, 24)),
        mo(size_t(R) * H), mid(size_t(R) * SI), ew(size_t(R) * TOPK), experts(size_t(R) * TOPK) {}
};

void mamba_layer(Stack& w, Batch& x, bool seeded) {
  rms_norm(x.h.get(), w.norm.get(), x.u.get(), x.R, H, 1e-5f);
  gemm(w.blas, x.u.get(), x.R, H, {w.in_proj.get(), IP, H}, x.p.get(), IP);
  columns(x.p.get(), IP, 0, DI, x.R, x.z.get());
  columns(x.p.get(), IP, DI, CD, x.R, x.xbc.get());
  columns(x.p.get(), IP, DI + CD, NH, x.R, x.dts.get());
  const size_t st = size_t(NH) * HD * N;
  for (int s = 0; s < x.b; ++s)
    causal_conv1d_silu(x.xbc.get() + size_t(s) * S * CD, S, CD, x.hist.get() + size_t(s) * 3 * CD, 4,
                       w.conv_w.get(), w.conv_b.get(), x.conv.get() + size_t(s) * S * CD);
  columns(x.conv.get(), CD, 0, DI, x.R, x.xs.get());
  columns(x.conv.get(), CD, DI, G * N, x.R, x.Bs.get());
  columns(x.conv.get(), CD, DI + G * N, G * N, x.R, x.Cs.get());
  // Denoiser: scan from a working copy of the read-only seed; context: in place.
  float* state = seeded ? x.work.get() : x.seed.get();
  if (seeded) check(cudaMemcpyAsync(state, x.seed.get(), sizeof(float) * st * x.b, cudaMemcpyDeviceToDevice), "copy");
  for (int s = 0; s < x.b; ++s)
    ssm_scan_recurrent(x.xs.get() + size_t(s) * S * DI, x.dts.get() + size_t(s) * S * NH,
                       x.Bs.get() + size_t(s) * S * G * N, x.Cs.get() + size_t(s) * S * G * N, S, w.A_log.get(),
                       w.D.get(), w.dt_bias.get(), {NH, HD, G, N}, state + s * st, x.y.get() + size_t(s) * S * DI);
  gated_group_rms_norm(x.y.get(), x.z.get(), w.gnorm.get(), x.y.get(), x.R, DI, DI / G, 1e-5f);
  gemm(w.blas, x.y.get(), x.R, DI, {w.out_proj.get(), H, DI}, x.h.get(), H, true);
}

void attention_layer(Stack& w, Batch& x, bool causal) {
  rms_norm(x.h.get(), w.norm.get(), x.u.get(), x.R, H, 1e-5f);
  gemm(w.blas, x.u.get(), x.R, H, {w.wq.get(), QH * AHD, H}, x.q.get(), QH * AHD);
  gemm(w.blas, x.u.get(), x.R, H, {w.wk.get(), KVH * AHD, H}, x.k.get(), KVH * AHD);
  gemm(w.blas, x.u.get(), x.R, H, {w.wv.get(), KVH * AHD, H}, x.v.get(), KVH * AHD);
  const size_t kd = size_t(KVH) * AHD, qd = size_t(QH) * AHD;
  for (int s = 0; s < x.b; ++s)
    attention(x.q.get() + s * S * qd, S, x.kc.get() + size_t(s) * x.ctx * kd, x.vc.get() + size_t(s) * x.ctx * kd,
              x.ctx, x.k.get() + s * S * kd, x.v.get() + s * S * kd, causal, {QH, KVH, AHD},
              x.att.get() + s * S * qd);
  gemm(w.blas, x.att.get(), x.R, QH * AHD, {w.wo.get(), H, QH * AHD}, x.h.get(), H, true);
}

void moe_layer(Stack& w, Batch& x) {
  rms_norm(x.h.get(), w.norm.get(), x.u.get(), x.R, H, 1e-5f);
  moe_route(x.u.get(), x.R, H, w.gate.get(), w.gate_bias.get(), {E, TOPK, 2.5f, true}, x.experts.get(), x.ew.get());
  moe_experts(x.u.get(), x.R, H, x.experts.get(), x.ew.get(), TOPK, {w.up.get(), w.down.get(), E, EI}, x.mo.get());
  gemm(w.blas, x.u.get(), x.R, H, {w.sup.get(), SI, H}, x.mid.get(), SI);
  relu_squared(x.mid.get(), static_cast<long long>(x.R) * SI);
  gemm(w.blas, x.mid.get(), x.R, SI, {w.sdown.get(), H, SI}, x.mo.get(), H, true);
  const float one = 1.0f;
  if (cublasSaxpy(w.blas.handle(), x.R * H, &one, x.mo.get(), 1, x.h.get(), 1) != CUBLAS_STATUS_SUCCESS)
    throw std::runtime_error("cublasSaxpy failed");
}

}  // namespace

nlohmann::json run_layer_stack(int context, const std::vector<int>& batches) {
  Stack w;
  nlohmann::json out = nlohmann::json::array();
  for (int b : batches) {
    Batch x(b, context);
    for (bool denoiser : {true, false}) {
      const double tm = time_call([&] { mamba_layer(w, x, denoiser); });
      const double ta = time_call([&] { attention_layer(w, x, !denoiser); });
      const double te = time_call([&] { moe_layer(w, x); });
      const double total = 23 * tm + 6 * ta + 23 * te;
      out.push_back({{"kind", denoiser ? "denoiser_step" : "context_extension"},
                     {"batch", b},
                     {"rows", x.R},
                     {"context", context},
                     {"mamba_ms", tm * 1e3},
                     {"attention_ms", ta * 1e3},
                     {"moe_ms", te * 1e3},
                     {"tower_ms_52_layers", total * 1e3},
                     {"tokens_per_s", x.R / total}});
    }
  }
  return out;
}

}  // namespace tt::cuda::bench
