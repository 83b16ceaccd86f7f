#include "kernels/cpu/gemm.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/gemm_microkernel.hpp"
#include "kernels/cpu/thread_pool.hpp"

// The tests are linked against tt_model, not tt_bench, so the bench is
// compiled into this test directly.
#include "tools/bench/gemm_bench.hpp"

namespace tt::cpu {
namespace {

std::vector<float> random_vec(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& e : v) e = d(rng);
  return v;
}

std::vector<uint16_t> to_bf16(const std::vector<float>& v) {
  std::vector<uint16_t> r(v.size());
  for (size_t i = 0; i < v.size(); ++i) r[i] = f32_to_bf16(v[i]);
  return r;
}

std::vector<float> from_bf16(const std::vector<uint16_t>& v) {
  std::vector<float> r(v.size());
  for (size_t i = 0; i < v.size(); ++i) r[i] = bf16_to_f32(v[i]);
  return r;
}

// Sum over kk of |x[i, kk] * w[j, kk]|: the scale of the rounding error of
// a length-k dot product (guards against cancellation in relative checks).
std::vector<double> abs_scale(const float* x, int m, int k, const float* w, int n) {
  std::vector<double> s(static_cast<size_t>(m) * n);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double a = 0;
      for (int kk = 0; kk < k; ++kk)
        a += std::fabs(static_cast<double>(x[i * k + kk]) * static_cast<double>(w[j * k + kk]));
      s[static_cast<size_t>(i) * n + j] = a;
    }
  return s;
}

// A test problem: x [m, k] (stored with ldx), W [n, k] row-major.
struct Problem {
  int m, n, k, ldx, ldy;
  std::vector<float> x;  // m * ldx, padding filled with garbage
  std::vector<float> w;  // n * k (bf16-rounded when bf16)
  PackedWeight pw;
};

Problem make_problem(int m, int n, int k, bool bf16, uint32_t seed, int xpad = 0, int ypad = 0) {
  Problem p{m, n, k, k + xpad, n + ypad, {}, {}, {}};
  p.x = random_vec(static_cast<size_t>(m) * p.ldx, seed * 3 + 1);
  p.w = random_vec(static_cast<size_t>(n) * k, seed * 3 + 2);
  if (bf16) {
    std::vector<uint16_t> wb = to_bf16(p.w);
    p.w = from_bf16(wb);
    p.pw = pack_weight_bf16(wb.data(), n, k);
  } else {
    p.pw = pack_weight_f32(p.w.data(), n, k);
  }
  return p;
}

std::vector<float> dense_x(const Problem& p) {
  std::vector<float> x(static_cast<size_t>(p.m) * p.k);
  for (int i = 0; i < p.m; ++i)
    std::memcpy(&x[static_cast<size_t>(i) * p.k], &p.x[static_cast<size_t>(i) * p.ldx],
                sizeof(float) * p.k);
  return x;
}

// Runs gemm on p (y pre-filled with y0, padding with a sentinel) and checks
// every element against the double reference, and that padding is intact.
void check_against_reference(const Problem& p, bool accumulate, uint32_t seed) {
  const float kSentinel = -12345.0f;
  std::vector<float> y(static_cast<size_t>(p.m) * p.ldy, kSentinel);
  std::vector<float> y0 = random_vec(static_cast<size_t>(p.m) * p.n, seed + 7);
  if (accumulate)
    for (int i = 0; i < p.m; ++i)
      for (int j = 0; j < p.n; ++j) y[static_cast<size_t>(i) * p.ldy + j] = y0[i * p.n + j];

  gemm(p.x.data(), p.m, p.ldx, p.pw, y.data(), p.ldy, accumulate);

  std::vector<float> xd = dense_x(p);
  std::vector<float> ref(static_cast<size_t>(p.m) * p.n);
  gemm_reference(xd.data(), p.m, p.k, p.w.data(), p.n, ref.data());
  std::vector<double> scale = abs_scale(xd.data(), p.m, p.k, p.w.data(), p.n);

  int bad = 0;
  for (int i = 0; i < p.m; ++i) {
    for (int j = 0; j < p.ldy; ++j) {
      const float got = y[static_cast<size_t>(i) * p.ldy + j];
      if (j >= p.n) {
        if (got != kSentinel && ++bad <= 5)
          ADD_FAILURE() << "padding overwritten at row " << i << " col " << j;
        continue;
      }
      double want = ref[static_cast<size_t>(i) * p.n + j];
      double s = scale[static_cast<size_t>(i) * p.n + j];
      if (accumulate) {
        want += y0[i * p.n + j];
        s += std::fabs(y0[i * p.n + j]);
      }
      const double tol = 1e-5 * std::max({std::fabs(want), s, 1e-30});
      if (!(std::fabs(got - want) <= tol) && ++bad <= 5)
        ADD_FAILURE() << "m=" << p.m << " n=" << p.n << " k=" << p.k << " y[" << i << "," << j
                      << "] = " << got << ", want " << want << " (tol " << tol << ")";
    }
  }
  EXPECT_EQ(bad, 0) << "m=" << p.m << " n=" << p.n << " k=" << p.k;
}

// Restores the default global pool at the end of a test that changes it.
struct GlobalThreadsGuard {
  ~GlobalThreadsGuard() { ThreadPool::set_global_threads(0); }
};

// --- packing -------------------------------------------------------------------

TEST(GemmPack, LayoutF32AndBf16) {
  const int n = 37, k = 5;
  std::vector<float> w = random_vec(static_cast<size_t>(n) * k, 1);
  std::vector<uint16_t> wb = to_bf16(w);
  PackedWeight pf = pack_weight_f32(w.data(), n, k);
  PackedWeight pb = pack_weight_bf16(wb.data(), n, k);
  const int panels = (n + kGemmPanel - 1) / kGemmPanel;
  ASSERT_EQ(pf.n, n);
  ASSERT_EQ(pf.k, k);
  EXPECT_EQ(pf.type, WeightType::f32);
  EXPECT_EQ(pb.type, WeightType::bf16);
  ASSERT_EQ(pf.f32.size(), static_cast<size_t>(panels) * k * kGemmPanel);
  ASSERT_EQ(pb.bf16.size(), static_cast<size_t>(panels) * k * kGemmPanel);
  EXPECT_TRUE(pf.bf16.empty());
  EXPECT_TRUE(pb.f32.empty());
  EXPECT_EQ(pf.bytes(), pf.f32.size() * 4);
  EXPECT_EQ(pb.bytes(), pb.bf16.size() * 2);
  for (int p = 0; p < panels; ++p)
    for (int kk = 0; kk < k; ++kk)
      for (int j = 0; j < kGemmPanel; ++j) {
        const size_t at = (static_cast<size_t>(p) * k + kk) * kGemmPanel + j;
        const int row = p * kGemmPanel + j;
        if (row < n) {
          EXPECT_EQ(pf.f32[at], w[static_cast<size_t>(row) * k + kk]);
          EXPECT_EQ(pb.bf16[at], wb[static_cast<size_t>(row) * k + kk]);
        } else {
          EXPECT_EQ(pf.f32[at], 0.0f);
          EXPECT_EQ(pb.bf16[at], 0);
        }
      }
}

TEST(GemmPack, LargePackIsParallelAndCorrect) {
  // Big enough for pack_panels to go through the thread pool.
  const int n = 1000, k = 1500;
  std::vector<float> w = random_vec(static_cast<size_t>(n) * k, 2);
  PackedWeight pf = pack_weight_f32(w.data(), n, k);
  for (int row : {0, 1, 15, 16, 500, 999})
    for (int kk : {0, 1, 777, 1499})
      EXPECT_EQ(pf.f32[(static_cast<size_t>(row / 16) * k + kk) * 16 + row % 16],
                w[static_cast<size_t>(row) * k + kk]);
}

// --- correctness against the reference ---------------------------------------

TEST(Gemm, F32MatchesReferenceManyShapes) {
  uint32_t seed = 1;
  for (int m : {1, 3, 15, 16, 17, 33, 100})
    for (int n : {1, 3, 15, 16, 17, 33, 100, 257})
      for (int k : {1, 3, 16, 17, 100, 257}) {
        Problem p = make_problem(m, n, k, false, seed++);
        check_against_reference(p, false, seed);
      }
}

TEST(Gemm, Bf16MatchesReferenceManyShapes) {
  uint32_t seed = 1000;
  for (int m : {1, 3, 15, 16, 17, 33, 100})
    for (int n : {1, 3, 15, 16, 17, 33, 100, 257})
      for (int k : {1, 3, 16, 17, 100, 257}) {
        Problem p = make_problem(m, n, k, true, seed++);
        check_against_reference(p, false, seed);
      }
}

TEST(Gemm, StridedInputAndOutput) {
  uint32_t seed = 2000;
  for (bool bf16 : {false, true})
    for (int m : {1, 7, 33})
      for (int n : {5, 16, 49, 300})
        for (int k : {9, 64, 300}) {
          Problem p = make_problem(m, n, k, bf16, seed++, /*xpad=*/3 + m % 5, /*ypad=*/1 + n % 7);
          check_against_reference(p, false, seed);
        }
}

TEST(Gemm, Accumulate) {
  uint32_t seed = 3000;
  for (bool bf16 : {false, true})
    for (int m : {1, 5, 16, 40})
      for (int n : {3, 16, 33, 257})
        for (int k : {1, 17, 300, 700}) {
          Problem p = make_problem(m, n, k, bf16, seed++, 2, 5);
          check_against_reference(p, true, seed);
        }
}

TEST(Gemm, LargeShapesMatchReference) {
  // Exercise the threaded paths (column split, row split, k blocking).
  struct S {
    int m, n, k;
  };
  uint32_t seed = 4000;
  for (S s : {S{1, 2688, 700}, S{16, 1856, 600}, S{300, 40, 900}, S{130, 300, 1100}})
    for (bool bf16 : {false, true}) {
      Problem p = make_problem(s.m, s.n, s.k, bf16, seed++, 1, 3);
      check_against_reference(p, false, seed);
      check_against_reference(p, true, seed + 1);
    }
}

// Forces small k blocks (whatever this machine's L2) for one scope.
struct SmallKBlocks {
  explicit SmallKBlocks(int64_t bytes) { gemm_detail::set_kc_budget_bytes(bytes); }
  ~SmallKBlocks() { gemm_detail::set_kc_budget_bytes(0); }
};

TEST(Gemm, KBlockedMatchesReference) {
  uint32_t seed = 4500;
  for (int64_t budget : {int64_t{3000}, int64_t{20000}}) {
    SmallKBlocks blocks(budget);  // 3000 B: k blocks of 15 (f32) / 31 (bf16)
    for (bool bf16 : {false, true})
      for (int m : {9, 17, 40})
        for (int k : {100, 333}) {
          Problem p = make_problem(m, 70, k, bf16, seed++, 1, 2);
          check_against_reference(p, false, seed);
          check_against_reference(p, true, seed + 1);
        }
  }
  // And at the default budget with k past it (k-blocked on a 1 MiB L2).
  Problem p = make_problem(20, 50, 2500, false, seed++);
  check_against_reference(p, false, seed);
}

TEST(Gemm, DegenerateSizes) {
  PackedWeight pw = pack_weight_f32(nullptr, 5, 0);  // k = 0
  std::vector<float> y(2 * 8, 3.0f);
  float x = 1.0f;
  gemm(&x, 2, 0, pw, y.data(), 8, /*accumulate=*/true);
  for (float v : y) EXPECT_EQ(v, 3.0f);
  gemm(&x, 2, 0, pw, y.data(), 8);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 8; ++j) EXPECT_EQ(y[i * 8 + j], j < 5 ? 0.0f : 3.0f);
  // m = 0: nothing happens.
  std::vector<float> w = random_vec(16 * 4, 5);
  PackedWeight p2 = pack_weight_f32(w.data(), 16, 4);
  gemm(nullptr, 0, 4, p2, nullptr, 16);
}

// --- bit-exactness properties -----------------------------------------------------

void run(const Problem& p, const float* x, int m, float* y, bool accumulate = false) {
  gemm(x, m, p.ldx, p.pw, y, p.ldy, accumulate);
}

TEST(Gemm, AccumulateOnZeroIsBitIdentical) {
  uint32_t seed = 5000;
  for (bool bf16 : {false, true})
    for (int m : {1, 16, 37})
      for (int k : {5, 300, 1000}) {
        Problem p = make_problem(m, 333, k, bf16, seed++, 1, 2);
        std::vector<float> a(static_cast<size_t>(m) * p.ldy, 0.0f);
        std::vector<float> b(a.size(), 0.0f);
        run(p, p.x.data(), m, a.data(), false);
        run(p, p.x.data(), m, b.data(), true);
        EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float)))
            << "m=" << m << " k=" << k << " bf16=" << bf16;
      }
}

TEST(Gemm, SplitKWithAccumulateIsBitIdentical) {
  // gemm over k columns == gemm over the first k1, then accumulate the rest.
  const int m = 21, n = 70, k = 530, k1 = 211;
  std::vector<float> x = random_vec(static_cast<size_t>(m) * k, 11);
  std::vector<float> w = random_vec(static_cast<size_t>(n) * k, 12);
  std::vector<float> w1(static_cast<size_t>(n) * k1), w2(static_cast<size_t>(n) * (k - k1));
  for (int j = 0; j < n; ++j) {
    std::memcpy(&w1[static_cast<size_t>(j) * k1], &w[static_cast<size_t>(j) * k], k1 * 4);
    std::memcpy(&w2[static_cast<size_t>(j) * (k - k1)], &w[static_cast<size_t>(j) * k + k1],
                (k - k1) * 4);
  }
  PackedWeight pw = pack_weight_f32(w.data(), n, k);
  PackedWeight pw1 = pack_weight_f32(w1.data(), n, k1);
  PackedWeight pw2 = pack_weight_f32(w2.data(), n, k - k1);
  std::vector<float> full(static_cast<size_t>(m) * n), split(full.size());
  gemm(x.data(), m, k, pw, full.data(), n);
  gemm(x.data(), m, k, pw1, split.data(), n);
  gemm(x.data() + k1, m, k, pw2, split.data(), n, /*accumulate=*/true);
  EXPECT_EQ(0, std::memcmp(full.data(), split.data(), full.size() * sizeof(float)));
}

// Row r of every product below must be bit-identical to row r computed alone.
void check_batch_invariance(int m, int n, int k, bool bf16, uint32_t seed) {
  SCOPED_TRACE("m=" + std::to_string(m) + " n=" + std::to_string(n) + " k=" +
               std::to_string(k) + (bf16 ? " bf16" : " f32"));
  Problem p = make_problem(m, n, k, bf16, seed, 3, 5);
  const size_t row = static_cast<size_t>(p.ldy);
  std::vector<float> all(static_cast<size_t>(m) * row, 0.0f);
  run(p, p.x.data(), m, all.data());

  // Each row alone (m = 1).
  std::vector<float> one(row, 0.0f);
  for (int i = 0; i < m; ++i) {
    run(p, &p.x[static_cast<size_t>(i) * p.ldx], 1, one.data());
    ASSERT_EQ(0, std::memcmp(one.data(), &all[i * row], n * sizeof(float))) << "row " << i;
  }
  // Rows in reverse order: row i sits at position m-1-i.
  std::vector<float> xr(p.x.size());
  for (int i = 0; i < m; ++i)
    std::memcpy(&xr[static_cast<size_t>(m - 1 - i) * p.ldx], &p.x[static_cast<size_t>(i) * p.ldx],
                p.ldx * sizeof(float));
  std::vector<float> rev(all.size(), 0.0f);
  run(p, xr.data(), m, rev.data());
  for (int i = 0; i < m; ++i)
    ASSERT_EQ(0, std::memcmp(&rev[(m - 1 - i) * row], &all[i * row], n * sizeof(float)))
        << "reversed row " << i;
  // Every contiguous window of a few sizes.
  for (int w : {2, 5, 8, 9, 16, 17}) {
    if (w > m) continue;
    std::vector<float> sub(static_cast<size_t>(w) * row);
    for (int s = 0; s + w <= m; s += 3) {
      run(p, &p.x[static_cast<size_t>(s) * p.ldx], w, sub.data());
      ASSERT_EQ(0, std::memcmp(sub.data(), &all[s * row], (static_cast<size_t>(w - 1) * row + n) *
                                                              sizeof(float)))
          << "window " << s << "+" << w;
    }
  }
  // Row 0 replicated to the full batch: every copy equals the m = 1 result.
  std::vector<float> xrep(p.x.size());
  for (int i = 0; i < m; ++i)
    std::memcpy(&xrep[static_cast<size_t>(i) * p.ldx], p.x.data(), p.ldx * sizeof(float));
  std::vector<float> rep(all.size(), 0.0f);
  run(p, xrep.data(), m, rep.data());
  for (int i = 0; i < m; ++i)
    ASSERT_EQ(0, std::memcmp(&rep[i * row], all.data(), n * sizeof(float))) << "replica " << i;
}

TEST(GemmBatchInvariance, RowsAloneWindowsAndPermutations) {
  uint32_t seed = 6000;
  for (bool bf16 : {false, true}) {
    check_batch_invariance(37, 100, 77, bf16, seed++);
    check_batch_invariance(37, 1000, 700, bf16, seed++);  // threaded, k blocked
    check_batch_invariance(100, 32, 300, bf16, seed++);   // row split
    check_batch_invariance(24, 2688, 300, bf16, seed++);
  }
}

TEST(GemmBatchInvariance, KBlockingDoesNotMatter) {
  // m = 1 never blocks k; larger batches do: rows must still match bit for bit.
  uint32_t seed = 6500;
  for (int64_t budget : {int64_t{3000}, int64_t{40000}}) {
    SmallKBlocks blocks(budget);
    for (bool bf16 : {false, true}) {
      check_batch_invariance(37, 100, 333, bf16, seed++);
      check_batch_invariance(100, 32, 300, bf16, seed++);  // row split
    }
  }
  // Blocked vs unblocked for the same batch.
  for (bool bf16 : {false, true}) {
    Problem p = make_problem(33, 200, 777, bf16, seed++, 2, 3);
    std::vector<float> a(static_cast<size_t>(p.m) * p.ldy, 0.0f), b(a.size(), 0.0f);
    gemm(p.x.data(), p.m, p.ldx, p.pw, a.data(), p.ldy);
    {
      SmallKBlocks blocks(5000);
      gemm(p.x.data(), p.m, p.ldx, p.pw, b.data(), p.ldy);
    }
    EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float))) << bf16;
  }
}

TEST(GemmBatchInvariance, ThreadCountDoesNotMatter) {
  GlobalThreadsGuard guard;
  struct S {
    int m, n, k;
  };
  uint32_t seed = 7000;
  for (S s : {S{1, 2688, 600}, S{16, 1856, 512}, S{37, 500, 700}, S{200, 40, 600}})
    for (bool bf16 : {false, true}) {
      Problem p = make_problem(s.m, s.n, s.k, bf16, seed++, 1, 1);
      std::vector<float> ref;
      for (int threads : {1, 2, 3, 4}) {
        ThreadPool::set_global_threads(threads);
        ASSERT_EQ(ThreadPool::global().size(), threads);
        std::vector<float> y(static_cast<size_t>(s.m) * p.ldy, 0.0f);
        run(p, p.x.data(), s.m, y.data());
        if (ref.empty())
          ref = y;
        else
          EXPECT_EQ(0, std::memcmp(ref.data(), y.data(), y.size() * sizeof(float)))
              << "threads=" << threads << " m=" << s.m << " n=" << s.n << " k=" << s.k;
      }
    }
}

TEST(GemmBatchInvariance, MatchesSequentialFmaChain) {
  // The documented order: acc = fma(x[kk], w[kk], acc), kk = 0..k-1 from +0.
  for (int m : {1, 19})
  for (bool bf16 : {false, true}) {
    Problem p = make_problem(m, 45, 333, bf16, 8000 + m + bf16);
    std::vector<float> y(static_cast<size_t>(p.m) * p.ldy);
    run(p, p.x.data(), p.m, y.data());
    for (int i = 0; i < p.m; ++i)
      for (int j = 0; j < p.n; ++j) {
        float acc = 0.0f;
        for (int kk = 0; kk < p.k; ++kk)
          acc = std::fma(p.x[static_cast<size_t>(i) * p.ldx + kk], p.w[static_cast<size_t>(j) * p.k + kk],
                         acc);
        ASSERT_EQ(0, std::memcmp(&acc, &y[static_cast<size_t>(i) * p.ldy + j], 4))
            << i << "," << j << ": " << acc << " vs " << y[static_cast<size_t>(i) * p.ldy + j];
      }
  }
}

// --- bf16 conversion ------------------------------------------------------------

float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

TEST(Bf16, RoundToNearestEven) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(f32_to_bf16(-2.0f), 0xc000);
  EXPECT_EQ(f32_to_bf16(0.0f), 0x0000);
  EXPECT_EQ(f32_to_bf16(-0.0f), 0x8000);
  EXPECT_EQ(f32_to_bf16(from_bits(0x3f808000)), 0x3f80);  // tie, even stays
  EXPECT_EQ(f32_to_bf16(from_bits(0x3f818000)), 0x3f82);  // tie, odd rounds up
  EXPECT_EQ(f32_to_bf16(from_bits(0x3f808001)), 0x3f81);  // above half
  EXPECT_EQ(f32_to_bf16(from_bits(0x3f807fff)), 0x3f80);  // below half
  EXPECT_EQ(f32_to_bf16(from_bits(0xbf818000)), 0xbf82);  // negative tie
  EXPECT_EQ(f32_to_bf16(from_bits(0x3fffffff)), 0x4000);  // carry into exponent
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::infinity()), 0x7f80);
  EXPECT_EQ(f32_to_bf16(-std::numeric_limits<float>::infinity()), 0xff80);
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::max()), 0x7f80);  // overflows to inf
  EXPECT_EQ(f32_to_bf16(from_bits(0x00000001)), 0x0000);              // tiny denormal
  EXPECT_EQ(f32_to_bf16(from_bits(0x00018000)), 0x0002);              // denormal tie
}

TEST(Bf16, NaNStaysNaN) {
  for (uint32_t u : {0x7fc00000u, 0x7f800001u, 0x7f80ffffu, 0xff800001u, 0x7fffffffu, 0xffc00001u}) {
    const uint16_t b = f32_to_bf16(from_bits(u));
    EXPECT_TRUE(std::isnan(bf16_to_f32(b))) << std::hex << u << " -> " << b;
    EXPECT_EQ(b & 0x8000, (u >> 16) & 0x8000) << "sign kept";
  }
}

TEST(Bf16, MatchesNearestOnRandomFloats) {
  std::mt19937 rng(42);
  for (int it = 0; it < 200000; ++it) {
    uint32_t u = rng();
    const float f = from_bits(u);
    if (std::isnan(f) || std::isinf(f)) continue;
    const uint16_t got = f32_to_bf16(f);
    // Candidates: truncation and the next bf16 away from zero.
    const uint16_t lo = static_cast<uint16_t>(u >> 16);
    const uint16_t hi = static_cast<uint16_t>(lo + 1);
    const double dlo = std::fabs(static_cast<double>(f) - bf16_to_f32(lo));
    const double dhi = std::isinf(bf16_to_f32(hi))
                           ? std::ldexp(1.0, 128) - std::fabs(static_cast<double>(f))  // RNE to inf
                           : std::fabs(static_cast<double>(f) - bf16_to_f32(hi));
    uint16_t want = dlo < dhi ? lo : dhi < dlo ? hi : ((lo & 1) ? hi : lo);
    ASSERT_EQ(got, want) << std::hex << u;
    // bf16 values round-trip.
    ASSERT_EQ(f32_to_bf16(bf16_to_f32(got)), got);
  }
}

// --- bench --------------------------------------------------------------------------

TEST(GemmBench, ReportsAllKeys) {
  nlohmann::json j = tt::bench::run_gemm_bench(0.01);
  for (const char* key : {"isa", "threads", "peak_gflops", "seconds_per_case", "cases"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_GT(j["peak_gflops"].get<double>(), 0.0);
  EXPECT_EQ(j["threads"].get<int>(), ThreadPool::global().size());
  ASSERT_TRUE(j["cases"].is_array());
  ASSERT_EQ(j["cases"].size(), 7u);
  int measured = 0;
  for (const auto& c : j["cases"]) {
    for (const char* key : {"name", "m", "n", "k", "weights", "skipped"})
      EXPECT_TRUE(c.contains(key)) << key;
    if (c["skipped"].get<bool>()) continue;
    ++measured;
    for (const char* key :
         {"calls", "seconds_per_call", "mean_seconds_per_call", "best_seconds_per_call", "gflops",
          "best_gflops", "fraction_of_peak", "best_fraction_of_peak", "weight_gbps",
          "best_weight_gbps", "weight_copies"})
      EXPECT_TRUE(c.contains(key)) << c["name"] << " " << key;
    EXPECT_GT(c["gflops"].get<double>(), 0.0) << c["name"];
    EXPECT_GT(c["weight_gbps"].get<double>(), 0.0) << c["name"];
  }
  EXPECT_GE(measured, 5);  // only the LM head may be skipped for memory
}

}  // namespace
}  // namespace tt::cpu
