// cuBLAS GEMM with bf16 weights, bf16-rounded activations, fp32 accumulation.
#include <cuda_bf16.h>

#include <stdexcept>
#include <string>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/device.hpp"
#include "kernels/cuda/gemm.hpp"

namespace tt::cuda {
namespace {

void check_blas(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS)
    throw std::runtime_error(std::string(what) + ": cuBLAS status " + std::to_string(static_cast<int>(s)));
}

__global__ void to_bf16_kernel(const float* x, long long n, int k, int ldx, __nv_bfloat16* out) {
  const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const long long r = i / k, c = i % k;
  out[i] = __float2bfloat16_rn(x[r * ldx + c]);
}

}  // namespace

Blas::Blas(cudaStream_t stream) : stream_(stream) {
  check_blas(cublasCreate(&handle_), "cublasCreate");
  check_blas(cublasSetStream(handle_, stream_), "cublasSetStream");
  // Tensor cores with fp32 accumulation; no reduced-precision reductions.
  check_blas(cublasSetMathMode(handle_, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
}

Blas::~Blas() {
  if (staging_ != nullptr) cudaFree(staging_);
  if (handle_ != nullptr) cublasDestroy(handle_);
}

uint16_t* Blas::staging(size_t n) {
  if (n > staging_n_) {
    if (staging_ != nullptr) check(cudaFree(staging_), "cudaFree");
    staging_ = nullptr;
    check(cudaMalloc(reinterpret_cast<void**>(&staging_), n * sizeof(uint16_t)), "cudaMalloc staging");
    staging_n_ = n;
  }
  return staging_;
}

void to_bf16(const float* x, int rows, int k, int ldx, uint16_t* out, cudaStream_t stream) {
  const long long n = static_cast<long long>(rows) * k;
  if (n <= 0) return;
  to_bf16_kernel<<<detail::blocks_for(n, 256), 256, 0, stream>>>(x, n, k, ldx,
                                                                 reinterpret_cast<__nv_bfloat16*>(out));
  check(cudaGetLastError(), "to_bf16");
}

void gemm(Blas& blas, const float* x, int m, int ldx, const DeviceWeight& w, float* y, int ldy,
          bool accumulate) {
  if (m <= 0 || w.n <= 0) return;
  if (ldx < w.k || ldy < w.n) throw std::invalid_argument("cuda::gemm: ldx < k or ldy < n");
  uint16_t* xb = blas.staging(static_cast<size_t>(m) * w.k);
  to_bf16(x, m, w.k, ldx, xb, blas.stream());
  // Column-major view: Yᵀ[n, m] = W[n, k] (row-major = Wᵀ column-major, op T) · Xᵀ[k, m].
  const float alpha = 1.0f, beta = accumulate ? 1.0f : 0.0f;
  check_blas(cublasGemmEx(blas.handle(), CUBLAS_OP_T, CUBLAS_OP_N, w.n, m, w.k, &alpha, w.bf16, CUDA_R_16BF,
                          w.k, xb, CUDA_R_16BF, w.k, &beta, y, CUDA_R_32F, ldy, CUBLAS_COMPUTE_32F,
                          CUBLAS_GEMM_DEFAULT),
             "cublasGemmEx");
}

}  // namespace tt::cuda
