// Internal to gemm.cpp (and the GEMM bench): a 16-lane fp32 vector type over
// the widest ISA the build targets, and the register-blocked GEMM microkernel.
//
// Every output lane is one IEEE fused multiply-add chain, acc = fma(x, w, acc)
// for kk in increasing order, on every ISA (AVX-512, AVX2+FMA, scalar fmaf),
// so the result of an element does not depend on the tile it was computed in.
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>
#endif

namespace tt::cpu::gemm_detail {

#if defined(__AVX512F__)

inline constexpr const char* kIsa = "avx512";

struct V16 {
  __m512 v;
};
inline V16 vzero() { return {_mm512_setzero_ps()}; }
inline V16 vbcast(float f) { return {_mm512_set1_ps(f)}; }
inline V16 vload(const float* p) { return {_mm512_loadu_ps(p)}; }
inline V16 vload(const uint16_t* p) {
  // bf16 -> fp32: zero-extend each 16-bit value to 32 bits, shift left 16.
  // (The maskz forms with a full mask compile to the plain instructions; the
  // unmasked intrinsics trip a spurious GCC 12 -Wmaybe-uninitialized.)
  const __m512i u = _mm512_maskz_cvtepu16_epi32(
      static_cast<__mmask16>(0xffff), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  return {_mm512_castsi512_ps(_mm512_maskz_slli_epi32(static_cast<__mmask16>(0xffff), u, 16))};
}
inline V16 vfma(V16 a, V16 b, V16 c) { return {_mm512_fmadd_ps(a.v, b.v, c.v)}; }
inline void vstore(float* p, V16 a) { _mm512_storeu_ps(p, a.v); }
inline V16 vload_n(const float* p, int n) {
  return {_mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1u), p)};
}
inline void vstore_n(float* p, V16 a, int n) {
  _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << n) - 1u), a.v);
}

// Register budget (32 zmm): kMaxMR x kMaxNP accumulators + kMaxNP weights.
inline constexpr int kMaxMR = 8;
inline constexpr int kMaxNP = 3;
// Small batches (up to kWideMR rows) use wider tiles: more weight streams in
// flight per thread, which streams from DRAM faster.
inline constexpr int kWideMR = 4;
inline constexpr int kWideNP = 6;

#elif defined(__AVX2__) && defined(__FMA__)

inline constexpr const char* kIsa = "avx2";

struct V16 {
  __m256 lo, hi;
};
inline V16 vzero() { return {_mm256_setzero_ps(), _mm256_setzero_ps()}; }
inline V16 vbcast(float f) {
  __m256 b = _mm256_set1_ps(f);
  return {b, b};
}
inline V16 vload(const float* p) { return {_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8)}; }
inline V16 vload(const uint16_t* p) {
  __m256i a = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  __m256i b = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 8)));
  return {_mm256_castsi256_ps(_mm256_slli_epi32(a, 16)),
          _mm256_castsi256_ps(_mm256_slli_epi32(b, 16))};
}
inline V16 vfma(V16 a, V16 b, V16 c) {
  return {_mm256_fmadd_ps(a.lo, b.lo, c.lo), _mm256_fmadd_ps(a.hi, b.hi, c.hi)};
}
inline void vstore(float* p, V16 a) {
  _mm256_storeu_ps(p, a.lo);
  _mm256_storeu_ps(p + 8, a.hi);
}
inline V16 vload_n(const float* p, int n) {
  alignas(32) float t[16] = {};
  std::memcpy(t, p, sizeof(float) * static_cast<size_t>(n));
  return vload(t);
}
inline void vstore_n(float* p, V16 a, int n) {
  alignas(32) float t[16];
  vstore(t, a);
  std::memcpy(p, t, sizeof(float) * static_cast<size_t>(n));
}

// Register budget (16 ymm, two per V16).
inline constexpr int kMaxMR = 5;
inline constexpr int kMaxNP = 1;
inline constexpr int kWideMR = 2;
inline constexpr int kWideNP = 2;

#else

inline constexpr const char* kIsa = "scalar";

struct V16 {
  float v[16];
};
inline V16 vzero() { return {}; }
inline V16 vbcast(float f) {
  V16 r;
  for (float& e : r.v) e = f;
  return r;
}
inline V16 vload(const float* p) {
  V16 r;
  std::memcpy(r.v, p, sizeof(r.v));
  return r;
}
inline V16 vload(const uint16_t* p) {
  V16 r;
  for (int j = 0; j < 16; ++j) {
    uint32_t u = static_cast<uint32_t>(p[j]) << 16;
    std::memcpy(&r.v[j], &u, 4);
  }
  return r;
}
inline V16 vfma(V16 a, V16 b, V16 c) {
  V16 r;
  for (int j = 0; j < 16; ++j) r.v[j] = __builtin_fmaf(a.v[j], b.v[j], c.v[j]);
  return r;
}
inline void vstore(float* p, V16 a) { std::memcpy(p, a.v, sizeof(a.v)); }
inline V16 vload_n(const float* p, int n) {
  V16 r = {};
  std::memcpy(r.v, p, sizeof(float) * static_cast<size_t>(n));
  return r;
}
inline void vstore_n(float* p, V16 a, int n) {
  std::memcpy(p, a.v, sizeof(float) * static_cast<size_t>(n));
}

inline constexpr int kMaxMR = 4;
inline constexpr int kMaxNP = 1;
inline constexpr int kWideMR = 1;
inline constexpr int kWideNP = 2;

#endif

// Overrides the byte budget that decides the k blocking (0 restores the
// default, 3/8 of the L2 cache). For tests: results never depend on it.
void set_kc_budget_bytes(int64_t bytes);

// One tile: MR rows x NP panels (16 columns each), kc steps of k.
//   x:      first row's activations for this k block; row i at x + i*ldx.
//   w:      first panel's weights for this k block; panel p at w + p*pstride,
//           step kk at +kk*16.
//   y:      first row's outputs at the tile's first column; row i at y + i*ldy.
//   init:   start each chain from the current y (accumulate, or a later k
//           block) instead of +0.
//   nlast:  valid columns (1..16) in the tile's last panel; columns past it
//           are neither read nor written.
template <int MR, int NP, typename W>
__attribute__((always_inline)) inline void microkernel(const float* __restrict x, int64_t ldx,
                                                       const W* __restrict w, int64_t pstride,
                                                       int64_t kc, float* __restrict y,
                                                       int64_t ldy, bool init, int nlast) {
  V16 acc[MR][NP];
  if (init) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 8
      for (int p = 0; p < NP; ++p) {
        const float* yp = y + i * ldy + p * 16;
        acc[i][p] = (p == NP - 1 && nlast < 16) ? vload_n(yp, nlast) : vload(yp);
      }
    }
  } else {
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 8
      for (int p = 0; p < NP; ++p) acc[i][p] = vzero();
    }
  }

  const W* wp[NP];
#pragma GCC unroll 8
  for (int p = 0; p < NP; ++p) wp[p] = w + p * pstride;

#pragma GCC unroll 2
  for (int64_t kk = 0; kk < kc; ++kk) {
    V16 wv[NP];
#pragma GCC unroll 8
    for (int p = 0; p < NP; ++p) wv[p] = vload(wp[p] + kk * 16);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const V16 xb = vbcast(x[i * ldx + kk]);
#pragma GCC unroll 8
      for (int p = 0; p < NP; ++p) acc[i][p] = vfma(xb, wv[p], acc[i][p]);
    }
  }

#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 8
    for (int p = 0; p < NP; ++p) {
      float* yp = y + i * ldy + p * 16;
      if (p == NP - 1 && nlast < 16)
        vstore_n(yp, acc[i][p], nlast);
      else
        vstore(yp, acc[i][p]);
    }
  }
}

}  // namespace tt::cpu::gemm_detail
