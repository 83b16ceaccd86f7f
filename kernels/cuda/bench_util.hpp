// Helpers of tt_cuda_bench (not part of tt_cuda): event timing, random device data.
#pragma once

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <random>
#include <vector>

#include "kernels/cuda/device.hpp"

namespace tt::cuda::bench {

inline double g_min_seconds = 0.2;

// Seconds per call: 3 warm-up calls, then doubling repeats until g_min_seconds have passed.
inline double time_call(const std::function<void()>& fn) {
  for (int i = 0; i < 3; ++i) fn();
  check(cudaDeviceSynchronize(), "warm-up");
  cudaEvent_t a, b;
  cudaEventCreate(&a);
  cudaEventCreate(&b);
  int n = 0;
  float total_ms = 0.0f;
  while (total_ms < g_min_seconds * 1e3f && n < 100000) {
    const int batch = n == 0 ? 5 : n;
    cudaEventRecord(a);
    for (int i = 0; i < batch; ++i) fn();
    cudaEventRecord(b);
    cudaEventSynchronize(b);
    float ms = 0.0f;
    cudaEventElapsedTime(&ms, a, b);
    total_ms += ms;
    n += batch;
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  check(cudaGetLastError(), "timed kernel");
  return total_ms / 1e3 / n;
}

inline DeviceBuffer<float> rand_f(size_t n, float lo, float hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& e : v) e = d(rng);
  return DeviceBuffer<float>(v);
}

// Random bf16 values of magnitude about 0.008..0.06, either sign. Large tensors (the
// 30B expert banks: 0.6 G values each) repeat one 4 M-value random tile, so setting
// up the benchmark does not spend a minute in the host's random generator; the
// timings only need the bytes, not their independence.
inline DeviceBuffer<uint16_t> rand_bf16(size_t n, uint32_t seed) {
  constexpr size_t kTile = size_t(1) << 22;
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(0x3c00, 0x3d80);
  std::vector<uint16_t> v(std::min(n, kTile));
  for (auto& e : v) e = static_cast<uint16_t>(d(rng) ^ ((rng() & 1) ? 0x8000 : 0));
  if (n <= kTile) return DeviceBuffer<uint16_t>(v);
  DeviceBuffer<uint16_t> out(n);
  for (size_t at = 0; at < n; at += kTile)
    check(cudaMemcpy(out.get() + at, v.data(), std::min(kTile, n - at) * sizeof(uint16_t), cudaMemcpyHostToDevice),
          "rand_bf16 upload");
  return out;
}

}  // namespace tt::cuda::bench
