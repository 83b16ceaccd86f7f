// Mamba-2 scan: the fp32 recurrence against a double-precision loop, and the
// chunked SSD kernel against the recurrence from non-zero initial states.
#include "kernels/cpu/ssm_scan.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

namespace tt::cpu {
namespace {

std::vector<float> random_vec(size_t n, float lo, float hi, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& e : v) e = dist(rng);
  return v;
}

struct ScanInputs {
  SsmShape s;
  int T;
  std::vector<float> x, dt_raw, B, C, A_log, D, dt_bias, state0;

  // dt_raw uniform in [dt_lo, dt_hi]: an upper end > 20 exercises softplus(x) = x
  // and full decay, a low range slow decay (the state survives many chunks);
  // state_mag: magnitude of the initial state.
  ScanInputs(SsmShape shape, int T_, uint32_t seed, float dt_hi = 1.f, float state_mag = 1.f,
             float dt_lo = -4.f)
      : s(shape), T(T_) {
    std::mt19937 rng(seed);
    const size_t xd = size_t(s.n_heads) * s.head_dim, bd = size_t(s.n_groups) * s.state;
    x = random_vec(T * xd, -1.f, 1.f, rng);
    dt_raw = random_vec(size_t(T) * s.n_heads, dt_lo, dt_hi, rng);
    B = random_vec(T * bd, -1.f, 1.f, rng);
    C = random_vec(T * bd, -1.f, 1.f, rng);
    A_log = random_vec(s.n_heads, -1.f, 1.5f, rng);
    D = random_vec(s.n_heads, 0.5f, 1.5f, rng);
    dt_bias = random_vec(s.n_heads, -1.f, 0.5f, rng);
    state0 = random_vec(xd * s.state, -state_mag, state_mag, rng);
  }

  // Runs recurrent (chunk == 0) or chunked; returns y, final state in *state.
  std::vector<float> run(int chunk, std::vector<float>* state) const {
    *state = state0;
    std::vector<float> y(x.size(), std::nanf(""));
    if (chunk == 0)
      ssm_scan_recurrent(x.data(), dt_raw.data(), B.data(), C.data(), T, A_log.data(), D.data(),
                         dt_bias.data(), s, state->data(), y.data());
    else
      ssm_scan_chunked(x.data(), dt_raw.data(), B.data(), C.data(), T, A_log.data(), D.data(),
                       dt_bias.data(), s, state->data(), y.data(), chunk);
    return y;
  }

  // The recurrence written out in double.
  std::vector<double> reference(std::vector<double>* state) const {
    state->assign(state0.begin(), state0.end());
    const int H = s.n_heads, P = s.head_dim, N = s.state, G = s.n_groups;
    std::vector<double> y(x.size());
    for (int t = 0; t < T; ++t)
      for (int h = 0; h < H; ++h) {
        const int g = h / (H / G);
        const double v = double(dt_raw[t * H + h]) + dt_bias[h];
        const double dt = v > 20.0 ? v : std::log1p(std::exp(v));
        const double decay = std::exp(dt * -std::exp(double(A_log[h])));
        for (int p = 0; p < P; ++p) {
          const double xv = x[(size_t(t) * H + h) * P + p];
          double acc = 0;
          for (int n = 0; n < N; ++n) {
            double& S = (*state)[(size_t(h) * P + p) * N + n];
            S = decay * S + dt * xv * B[(size_t(t) * G + g) * N + n];
            acc += S * C[(size_t(t) * G + g) * N + n];
          }
          y[(size_t(t) * H + h) * P + p] = acc + D[h] * xv;
        }
      }
    return y;
  }
};

double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double e : v) m = std::max(m, std::fabs(e));
  return m;
}

// max |a - b| / max |b|; a NaN anywhere makes it NaN.
template <typename A, typename B>
double rel_err(const std::vector<A>& a, const std::vector<B>& b) {
  std::vector<double> bd(b.begin(), b.end());
  double err = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double e = std::fabs(double(a[i]) - bd[i]);
    if (!(e <= err)) err = e;
  }
  return err / std::max(max_abs(bd), 1e-30);
}

const SsmShape kShapes[] = {
    {4, 8, 2, 16},    // 2 heads per group
    {6, 5, 3, 7},     // odd sizes, no vector-width multiples
    {8, 64, 2, 128},  // the 30B head and state sizes, 4 heads per group
    {3, 4, 1, 20},    // one group
};

TEST(SsmScan, RecurrentMatchesDouble) {
  double worst = 0;
  for (const auto& s : kShapes)
    for (int T : {1, 16, 100})
      for (float dt_hi : {-4.f, 1.f, 25.f}) {
        const ScanInputs in(s, T, 11 * T + s.state, dt_hi, 3.f, dt_hi - 5.f);
        std::vector<float> state;
        const auto y = in.run(0, &state);
        std::vector<double> ref_state;
        const auto ref = in.reference(&ref_state);
        const double ey = rel_err(y, ref), es = rel_err(state, ref_state);
        EXPECT_LT(ey, 1e-5) << "T=" << T << " N=" << s.state << " dt_hi=" << dt_hi;
        EXPECT_LT(es, 1e-5) << "T=" << T << " N=" << s.state << " dt_hi=" << dt_hi;
        worst = std::max({worst, ey, es});
      }
  std::printf("recurrent vs double: max relative error %.3g\n", worst);
}

TEST(SsmScan, ChunkedMatchesRecurrent) {
  struct Regime {
    float dt_lo, dt_hi, state_mag;
  };
  double worst = 0;
  for (const auto& s : kShapes)
    for (const Regime r :
         {Regime{-4.f, 1.f, 1.f}, Regime{-4.f, 1.f, 1e3f}, Regime{-9.f, -4.f, 1e3f},
          Regime{-4.f, 25.f, 1.f}, Regime{-4.f, 25.f, 1e3f}})
      for (int T : {1, 3, 15, 16, 17, 64, 100})
        for (int chunk : {1, 4, 16, 64}) {
          const ScanInputs in(s, T, 1000 * T + s.head_dim, r.dt_hi, r.state_mag, r.dt_lo);
          std::vector<float> rec_state, chk_state;
          const auto rec = in.run(0, &rec_state);
          const auto chk = in.run(chunk, &chk_state);
          const double ey = rel_err(chk, rec), es = rel_err(chk_state, rec_state);
          EXPECT_LE(ey, 1e-5) << "y: T=" << T << " chunk=" << chunk << " P=" << s.head_dim
                              << " N=" << s.state << " dt=[" << r.dt_lo << "," << r.dt_hi
                              << "] |S0|=" << r.state_mag;
          EXPECT_LE(es, 1e-5) << "state: T=" << T << " chunk=" << chunk << " P=" << s.head_dim
                              << " N=" << s.state << " dt=[" << r.dt_lo << "," << r.dt_hi
                              << "] |S0|=" << r.state_mag;
          worst = std::max({worst, ey, es});
        }
  std::printf("chunked vs recurrent: max relative error %.3g\n", worst);
}

TEST(SsmScan, InitialStateMatters) {
  // Guards the comparison above: a scan that ignored the initial state would
  // differ from the recurrence by far more than the tolerance.
  const ScanInputs in(kShapes[0], 16, 5, 1.f, 1.f);
  std::vector<float> state;
  const auto seeded = in.run(16, &state);
  ScanInputs zero = in;
  std::fill(zero.state0.begin(), zero.state0.end(), 0.f);
  const auto unseeded = zero.run(16, &state);
  std::vector<double> ref(seeded.begin(), seeded.end());
  EXPECT_GT(rel_err(unseeded, ref), 1e-2);
}

TEST(SsmScan, RecurrentPiecesEqualOnePass) {
  // Running 16 tokens as 5 + 11 with the state carried is bit-identical.
  const auto& s = kShapes[2];
  const ScanInputs in(s, 16, 77, 1.f, 1.f);
  std::vector<float> state;
  const auto full = in.run(0, &state);
  const int T1 = 5, T2 = 11;
  const size_t xd = size_t(s.n_heads) * s.head_dim, bd = size_t(s.n_groups) * s.state;
  std::vector<float> st = in.state0, y(full.size());
  ssm_scan_recurrent(in.x.data(), in.dt_raw.data(), in.B.data(), in.C.data(), T1, in.A_log.data(),
                     in.D.data(), in.dt_bias.data(), s, st.data(), y.data());
  ssm_scan_recurrent(in.x.data() + T1 * xd, in.dt_raw.data() + T1 * s.n_heads,
                     in.B.data() + T1 * bd, in.C.data() + T1 * bd, T2, in.A_log.data(), in.D.data(),
                     in.dt_bias.data(), s, st.data(), y.data() + T1 * xd);
  EXPECT_EQ(0, std::memcmp(full.data(), y.data(), y.size() * 4));
  EXPECT_EQ(0, std::memcmp(state.data(), st.data(), st.size() * 4));
}

TEST(SsmScan, SoftplusPassesLargeValuesThrough) {
  // One head, P = N = 1, zero state, B = C = 1, D = 0, x = 1: y = dt exactly.
  const SsmShape s{1, 1, 1, 1};
  const float x = 1.f, B = 1.f, C = 1.f, A_log = 0.f, D = 0.f;
  // 100: log1p(exp(100)) overflows fp32, so the x > 20 branch is required.
  for (float raw : {100.f, 25.f, 20.5f, 0.f, -3.f}) {
    const float dt_bias = 0.f;
    float state = 0.f, y = 0.f;
    ssm_scan_recurrent(&x, &raw, &B, &C, 1, &A_log, &D, &dt_bias, s, &state, &y);
    const double expect = raw > 20.f ? raw : std::log1p(std::exp(double(raw)));
    EXPECT_NEAR(y, expect, 1e-6 * std::max(1.0, expect)) << raw;
  }
}

}  // namespace
}  // namespace tt::cpu
