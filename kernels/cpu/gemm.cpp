#include "kernels/cpu/gemm.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <utility>

#include <unistd.h>

#include "kernels/cpu/gemm_microkernel.hpp"
#include "kernels/cpu/thread_pool.hpp"

namespace tt::cpu {

using namespace gemm_detail;

namespace {

// k blocking: when one column unit's weight strip (k x kMaxNP*16 weights)
// is larger than this share of the L2 cache, k is cut into equal blocks that
// fit, so the block is reused from L2 by every row tile. The partial sums go
// through y and the chain continues from there, so the accumulation order of
// an element does not change. (On a 1 MiB L2, the model's k = 2688 strips,
// 258 KB bf16, run unblocked, which measured no slower than any blocking;
// fp32 splits in two.)
std::atomic<int64_t> g_kc_budget_override{0};

int64_t kc_budget_bytes() {
  static const int64_t from_l2 = [] {
    long l2 = -1;
#if defined(_SC_LEVEL2_CACHE_SIZE)
    l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
#endif
    if (l2 < (128 << 10) || l2 > (64 << 20)) l2 = 512 << 10;
    return static_cast<int64_t>(l2) * 3 / 8;
  }();
  const int64_t o = g_kc_budget_override.load(std::memory_order_relaxed);
  return o > 0 ? o : from_l2;
}

// Problems with fewer multiply-adds than this run on the calling thread.
constexpr int64_t kSerialWork = int64_t{1} << 19;

using KernelFn = void (*)(const float*, int64_t, const void*, int64_t, int64_t, float*, int64_t,
                          bool, int);

template <int MR, int NP, typename W>
void kernel_entry(const float* x, int64_t ldx, const void* w, int64_t pstride, int64_t kc,
                  float* y, int64_t ldy, bool init, int nlast) {
  microkernel<MR, NP, W>(x, ldx, static_cast<const W*>(w), pstride, kc, y, ldy, init, nlast);
}

// A set of tile kernels: fns[(np - 1) * max_mr + (mr - 1)] computes an
// mr x np-panel tile, 1 <= mr <= max_mr, 1 <= np <= max_np.
struct TileSet {
  const KernelFn* fns;
  int max_mr;
  int max_np;
  KernelFn get(int mr, int np) const { return fns[(np - 1) * max_mr + (mr - 1)]; }
};

template <typename W, int MaxMR, size_t... I>
constexpr std::array<KernelFn, sizeof...(I)> make_fns(std::index_sequence<I...>) {
  return {&kernel_entry<static_cast<int>(I % MaxMR) + 1, static_cast<int>(I / MaxMR) + 1, W>...};
}
template <typename W, int MaxMR, int MaxNP>
constexpr auto kFns = make_fns<W, MaxMR>(std::make_index_sequence<MaxMR * MaxNP>{});

template <typename W>
constexpr TileSet kMainTiles{kFns<W, kMaxMR, kMaxNP>.data(), kMaxMR, kMaxNP};
template <typename W>
constexpr TileSet kWideTiles{kFns<W, kWideMR, kWideNP>.data(), kWideMR, kWideNP};

struct Plan {
  const float* x;
  int64_t ldx;
  const void* w;
  size_t w_elem;  // bytes per weight element
  int64_t kc;     // k block for tasks with more than one row tile
  const TileSet* main;  // tiles for batches of more than kWideMR rows
  const TileSet* wide;  // tiles for small batches
  int64_t k;
  int n;
  int panels;
  float* y;
  int64_t ldy;
  bool accumulate;
};

// Rows [r0, r1) x panels [pa, pb), in register tiles.
void run_block(const Plan& pl, int64_t r0, int64_t r1, int64_t pa, int64_t pb) {
  const int64_t k = pl.k;
  const int64_t pstride = k * kGemmPanel;
  const int64_t rows = r1 - r0;
  const TileSet& ts = rows <= pl.wide->max_mr ? *pl.wide : *pl.main;
  const int64_t kc = rows > ts.max_mr ? pl.kc : k;
  const auto* wbytes = static_cast<const unsigned char*>(pl.w);
  for (int64_t p0 = pa; p0 < pb; p0 += ts.max_np) {
    const int np = static_cast<int>(std::min<int64_t>(ts.max_np, pb - p0));
    const int nlast = (p0 + np == pl.panels) ? pl.n - (pl.panels - 1) * kGemmPanel : kGemmPanel;
    for (int64_t kb = 0; kb < k; kb += kc) {
      const int64_t kcur = std::min(kc, k - kb);
      const bool init = pl.accumulate || kb > 0;
      const void* wblk = wbytes + static_cast<size_t>(p0 * pstride + kb * kGemmPanel) * pl.w_elem;
      float* yblk = pl.y + p0 * kGemmPanel;
      // Balanced row tiles of at most max_mr rows.
      int64_t i = r0;
      while (i < r1) {
        const int64_t left = r1 - i;
        const int64_t tiles = (left + ts.max_mr - 1) / ts.max_mr;
        const int mr = static_cast<int>((left + tiles - 1) / tiles);
        ts.get(mr, np)(pl.x + i * pl.ldx + kb, pl.ldx, wblk, pstride, kcur, yblk + i * pl.ldy,
                       pl.ldy, init, nlast);
        i += mr;
      }
    }
  }
}

template <typename Src, typename Dst, typename Conv>
void pack_panels(const Src* w, int n, int k, Dst* out, Conv conv) {
  const int panels = (n + kGemmPanel - 1) / kGemmPanel;
  auto body = [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      Dst* dst = out + p * static_cast<int64_t>(k) * kGemmPanel;
      for (int j = 0; j < kGemmPanel; ++j) {
        const int64_t row = p * kGemmPanel + j;
        if (row < n) {
          const Src* src = w + row * static_cast<int64_t>(k);
          for (int kk = 0; kk < k; ++kk) dst[static_cast<int64_t>(kk) * kGemmPanel + j] = conv(src[kk]);
        } else {
          for (int kk = 0; kk < k; ++kk) dst[static_cast<int64_t>(kk) * kGemmPanel + j] = Dst{0};
        }
      }
    }
  };
  if (static_cast<int64_t>(n) * k < (int64_t{1} << 20))
    body(0, panels);
  else
    ThreadPool::global().parallel_for(panels, body);
}

}  // namespace

const char* gemm_isa() { return kIsa; }

void gemm_detail::set_kc_budget_bytes(int64_t bytes) {
  g_kc_budget_override.store(bytes, std::memory_order_relaxed);
}

PackedWeight pack_weight_f32(const float* w, int n, int k) {
  PackedWeight pw;
  pw.n = n;
  pw.k = k;
  pw.type = WeightType::f32;
  const int panels = (n + kGemmPanel - 1) / kGemmPanel;
  pw.f32.resize(static_cast<size_t>(panels) * static_cast<size_t>(k) * kGemmPanel);
  pack_panels(w, n, k, pw.f32.data(), [](float v) { return v; });
  return pw;
}

PackedWeight pack_weight_bf16(const uint16_t* w, int n, int k) {
  PackedWeight pw;
  pw.n = n;
  pw.k = k;
  pw.type = WeightType::bf16;
  const int panels = (n + kGemmPanel - 1) / kGemmPanel;
  pw.bf16.resize(static_cast<size_t>(panels) * static_cast<size_t>(k) * kGemmPanel);
  pack_panels(w, n, k, pw.bf16.data(), [](uint16_t v) { return v; });
  return pw;
}

void gemm(const float* x, int m, int ldx, const PackedWeight& w, float* y, int ldy,
          bool accumulate) {
  const int n = w.n;
  const int64_t k = w.k;
  if (m <= 0 || n <= 0) return;
  if (k == 0) {
    if (!accumulate)
      for (int i = 0; i < m; ++i) std::memset(y + static_cast<int64_t>(i) * ldy, 0, sizeof(float) * n);
    return;
  }

  Plan pl;
  pl.x = x;
  pl.ldx = ldx;
  if (w.type == WeightType::bf16) {
    pl.w = w.bf16.data();
    pl.w_elem = sizeof(uint16_t);
    pl.main = &kMainTiles<uint16_t>;
    pl.wide = &kWideTiles<uint16_t>;
  } else {
    pl.w = w.f32.data();
    pl.w_elem = sizeof(float);
    pl.main = &kMainTiles<float>;
    pl.wide = &kWideTiles<float>;
  }
  pl.k = k;
  {
    const int64_t strip = k * kMaxNP * kGemmPanel * static_cast<int64_t>(pl.w_elem);
    const int64_t blocks = (strip + kc_budget_bytes() - 1) / kc_budget_bytes();
    pl.kc = (k + blocks - 1) / blocks;
  }
  pl.n = n;
  pl.panels = (n + kGemmPanel - 1) / kGemmPanel;
  pl.y = y;
  pl.ldy = ldy;
  pl.accumulate = accumulate;

  const int64_t panels = pl.panels;
  const int64_t work = static_cast<int64_t>(m) * panels * kGemmPanel * k;
  ThreadPool& pool = ThreadPool::global();
  const int threads = pool.size();
  if (threads <= 1 || work < kSerialWork) {
    run_block(pl, 0, m, 0, panels);
    return;
  }
  if (panels >= 4 * kMaxNP * threads || m <= 2 * kMaxMR) {
    // Split the columns (balanced to the panel): every thread streams its
    // own part of the weights.
    pool.parallel_for(panels, [&](int64_t p0, int64_t p1) { run_block(pl, 0, m, p0, p1); });
    return;
  }
  // Few columns, many rows: split rows too. Tasks are (row block, column
  // unit of kMaxNP panels) pairs, row-block major, so a thread gets
  // contiguous rows.
  const int64_t units = (panels + kMaxNP - 1) / kMaxNP;
  // About 8 tasks per thread keeps the static partition within ~1/8 of even.
  const int64_t want_blocks = std::max<int64_t>(1, (8 * threads + units - 1) / units);
  int64_t rb = (m + want_blocks - 1) / want_blocks;
  rb = (rb + kMaxMR - 1) / kMaxMR * kMaxMR;
  const int64_t blocks = (m + rb - 1) / rb;
  pool.parallel_for(blocks * units, [&](int64_t t0, int64_t t1) {
    while (t0 < t1) {
      const int64_t b = t0 / units;
      const int64_t u0 = t0 % units;
      const int64_t u1 = std::min(units, u0 + (t1 - t0));
      run_block(pl, b * rb, std::min<int64_t>(m, (b + 1) * rb), u0 * kMaxNP,
                std::min<int64_t>(panels, u1 * kMaxNP));
      t0 += u1 - u0;
    }
  });
}

void gemm_reference(const float* x, int m, int k, const float* w, int n, float* y) {
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      double s = 0.0;
      for (int kk = 0; kk < k; ++kk)
        s += static_cast<double>(x[static_cast<int64_t>(i) * k + kk]) *
             static_cast<double>(w[static_cast<int64_t>(j) * k + kk]);
      y[static_cast<int64_t>(i) * n + j] = static_cast<float>(s);
    }
  }
}

uint16_t f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x0040u);  // NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

}  // namespace tt::cpu
