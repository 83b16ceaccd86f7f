// CUDA linear layers through cuBLAS: y[m, n] = x[m, k] · W[n, k]ᵀ with W bf16
// on the device (nn.Linear layout, uploaded as stored), activations fp32 in
// and out, rounded to bf16 on the way into the tensor cores, fp32
// accumulation (CUBLAS_COMPUTE_32F). The signature of kernels/cpu/gemm.hpp's
// gemm, plus the cuBLAS context. Unlike the CPU kernel the reduction order is
// cuBLAS's, so results are batch-invariant only as far as cuBLAS is.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace tt::cuda {

struct DeviceWeight {
  const uint16_t* bf16 = nullptr;  // device, row-major [n, k]
  int n = 0;
  int k = 0;
};

// One cuBLAS handle on one stream plus the bf16 staging buffer for activations.
class Blas {
public:
  explicit Blas(cudaStream_t stream = nullptr);
  ~Blas();
  Blas(const Blas&) = delete;
  Blas& operator=(const Blas&) = delete;

  cublasHandle_t handle() const { return handle_; }
  cudaStream_t stream() const { return stream_; }
  // A device buffer of at least n bf16 values (grows; valid until the next call).
  uint16_t* staging(size_t n);

private:
  cublasHandle_t handle_ = nullptr;
  cudaStream_t stream_ = nullptr;
  uint16_t* staging_ = nullptr;
  size_t staging_n_ = 0;
};

// y[i, j] (+)= sum_kk bf16(x[i*ldx + kk]) * W[j, kk]; ldx >= k, ldy >= w.n.
void gemm(Blas& blas, const float* x, int m, int ldx, const DeviceWeight& w, float* y, int ldy,
          bool accumulate = false);

// fp32 -> bf16 (round to nearest even) on the device: out[r*k + c] = x[r*ldx + c].
void to_bf16(const float* x, int rows, int k, int ldx, uint16_t* out, cudaStream_t stream);

}  // namespace tt::cuda
