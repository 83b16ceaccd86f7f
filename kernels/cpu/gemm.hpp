// Dense GEMM for linear layers: y[m, n] = x[m, k] · W[n, k]ᵀ, W in PyTorch
// nn.Linear layout. Weights are packed once at load time into column panels
// (fp32 or bf16, bf16 widened to fp32 in registers); activations are fp32.
//
// Batch invariance: every output element is reduced over k in one fixed
// sequential order (fused multiply-add, k = 0, 1, ..., k-1) whatever m, the
// row's position in the batch or the thread count, so a sequence's result
// never depends on what else is in the batch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tt::cpu {

enum class WeightType : uint8_t { f32, bf16 };

// Width of one packed column panel (output features per panel).
inline constexpr int kGemmPanel = 16;

struct PackedWeight {
  int n = 0;  // output features
  int k = 0;  // input features
  WeightType type = WeightType::f32;
  // Panels of kGemmPanel output columns: panel p holds, for kk = 0..k-1,
  // the kGemmPanel values W[p*kGemmPanel + j, kk] contiguously (zero-padded
  // past n). Only the vector matching `type` is filled.
  std::vector<float> f32;
  std::vector<uint16_t> bf16;

  size_t bytes() const { return f32.size() * 4 + bf16.size() * 2; }
};

// w: row-major [n, k]. Large matrices are packed on ThreadPool::global().
PackedWeight pack_weight_f32(const float* w, int n, int k);
PackedWeight pack_weight_bf16(const uint16_t* w, int n, int k);

// y[i, j] = sum_kk x[i*ldx + kk] * W[j, kk]   (+= when accumulate).
// ldx >= k, ldy >= w.n. Multi-threaded on ThreadPool::global() (small
// products run on the calling thread, as do calls made while the pool is busy
// with another thread's work or from inside a parallel_for).
// Each y[i, j] is one chain acc = fma(x[i, kk], W[j, kk], acc), kk = 0..k-1,
// starting from acc = +0, or from the current y[i, j] when accumulate (so
// accumulate on a zero-filled y is bit-identical to accumulate = false, and
// splitting k over two calls, the second with accumulate, is bit-identical to
// one call). Columns past w.n in y are never touched; x, y must not overlap.
void gemm(const float* x, int m, int ldx, const PackedWeight& w, float* y, int ldy,
          bool accumulate = false);

// The instruction set the GEMM microkernel was built for: "avx512", "avx2"
// or "scalar" (results are bit-identical across them).
const char* gemm_isa();

// Reference: naive triple loop in double, the specification for tests.
void gemm_reference(const float* x, int m, int k, const float* w, int n, float* y);

// bf16 <-> fp32 helpers (round-to-nearest-even on the way down).
inline float bf16_to_f32(uint16_t v) {
  uint32_t u = static_cast<uint32_t>(v) << 16;
  float f;
  __builtin_memcpy(&f, &u, 4);
  return f;
}
uint16_t f32_to_bf16(float f);

}  // namespace tt::cpu
