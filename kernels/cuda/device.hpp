// Host-side CUDA plumbing shared by the kernels, tests and benchmark: error
// checks that throw, device discovery that never throws, an owning device buffer.
#pragma once

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstddef>
#include <new>
#include <string>
#include <vector>

namespace tt::cuda {

// Throws std::runtime_error("<what>: <cuda error string>") unless e == cudaSuccess.
// The error is reported once: check() clears it as the thread's last error.
void check(cudaError_t e, const char* what);

// Waits for the work cudaMemset / cudaMemcpy queued on the default stream. The towers
// run on non-blocking streams, which are not ordered after that stream, and a pageable
// H2D cudaMemcpy may return before its DMA has landed: call this before another
// stream reads what such a call wrote.
void sync_default_stream(const char* what);

// Number of usable CUDA devices; 0 when there is no driver or no device (never throws).
int device_count();

struct DeviceInfo {
  std::string name;
  int sm = 0;                  // compute capability major*10 + minor
  int multiprocessors = 0;
  size_t memory_bytes = 0;
  double peak_gb_per_s = 0;    // 2 x memory clock x bus width (DDR), from device attributes
  double peak_bf16_tflops = 0; // dense tensor-core bf16: SMs x clock x FLOPs/clock/SM (sm80 2048, sm90 4096)
  double peak_fp32_tflops = 0; // CUDA-core fp32 FMA: SMs x clock x 128 lanes x 2
};
DeviceInfo device_info(int device);

// Makes `device` current for a scope (kernels, allocations, frees and cuBLAS follow
// it), then the device an enclosing or earlier scope of this thread chose, when that
// was another one. A thread whose scopes never chose a device stays on this one:
// since CUDA 12 making a device current creates its context, and switching such a
// thread "back" to device 0 would create one on GPU 0 in a `--device 1` process.
class DeviceScope {
public:
  explicit DeviceScope(int device);  // throws std::runtime_error
  // For destructors: never throws; when the switch fails the scope changes nothing.
  DeviceScope(int device, std::nothrow_t) noexcept;
  ~DeviceScope();
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

private:
  void entered(int device) noexcept;  // `device` is current now: remember what to go back to
  int previous_ = -1;  // the device to make current again at the end; -1: none
};

// An owning device allocation of n elements of T (trivially copyable).
template <class T>
class DeviceBuffer {
public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t n) : n_(n) {
    if (n > 0) check(cudaMalloc(reinterpret_cast<void**>(&p_), n * sizeof(T)), "cudaMalloc");
  }
  explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) { upload(host); }
  ~DeviceBuffer() {
    if (p_ != nullptr) cudaFree(p_);
  }
  DeviceBuffer(DeviceBuffer&& o) noexcept : p_(o.p_), n_(o.n_) { o.p_ = nullptr, o.n_ = 0; }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(n_, o.n_);
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  T* get() const { return p_; }
  size_t size() const { return n_; }
  // Synchronous: the data is on the device when it returns (any stream may read it).
  void upload(const std::vector<T>& host) {
    check(cudaMemcpy(p_, host.data(), std::min(n_, host.size()) * sizeof(T), cudaMemcpyHostToDevice),
          "cudaMemcpy H2D");
    sync_default_stream("cudaMemcpy H2D");
  }
  std::vector<T> download() const {
    std::vector<T> host(n_);
    if (n_ > 0) check(cudaMemcpy(host.data(), p_, n_ * sizeof(T), cudaMemcpyDeviceToHost), "cudaMemcpy D2H");
    return host;
  }

private:
  T* p_ = nullptr;
  size_t n_ = 0;
};

}  // namespace tt::cuda
