// CUDA MoE: the router of kernels/cpu/moe_router.hpp on the device (fp64 dot
// products and sigmoid, same top-k and weights), and the routed experts as a
// grouped GEMM over the rows sorted by expert, no host synchronisation.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace tt::cuda {

struct RouterShape {
  int n_experts = 0;  // <= 1024
  int top_k = 0;      // <= 32
  float scaling = 1.0f;
  bool normalize = true;
};

// Device pointers; same semantics as cpu::moe_route: experts[T, top_k] ascending,
// weights[T, top_k] aligned with them.
void moe_route(const float* x, int T, int H, const float* gate_w, const float* bias, const RouterShape& shape,
               int* experts, float* weights, cudaStream_t stream = nullptr);

// Routed expert weights, stacked per expert, bf16 on the device (nn.Linear layout).
struct ExpertWeights {
  const uint16_t* up = nullptr;    // [n_experts, inter, H]
  const uint16_t* down = nullptr;  // [n_experts, H, inter]
  int n_experts = 0;
  int inter = 0;                   // moe_intermediate_size
};

// out[t, :] = sum_j weights[t, j] * down_e(relu(up_e(x[t, :]))^2), e = experts[t, j],
// summed in j order (ascending expert, like model/tower_moe.cpp), fp32 throughout
// (bf16 weights widened). Rows are sorted by expert (counting sort, stable in
// token order), gathered, run through a tiled grouped GEMM per expert (T > 8) or
// a GEMV that streams each routed expert's weights once (T <= 8, decode), then
// combined per token. Both keep one fma chain per output in k order: a token's
// output does not depend on T. Scratch is allocated stream-ordered per call. T <= 1,048,560.
void moe_experts(const float* x, int T, int H, const int* experts, const float* weights, int top_k,
                 const ExpertWeights& w, float* out, cudaStream_t stream = nullptr);

// x = relu(x)^2 elementwise (the shared expert's and dense MLP's activation).
void relu_squared(float* x, long long n, cudaStream_t stream = nullptr);

}  // namespace tt::cuda
