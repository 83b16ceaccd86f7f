// CUDA error checks, device discovery and peak figures.
#include "kernels/cuda/device.hpp"

#include <stdexcept>

namespace tt::cuda {

void check(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return;
  // The runtime also keeps e as this thread's last error: left there, the next kernel
  // wrapper's cudaGetLastError() would report it again under its own name. (A sticky
  // error stays; an e that no runtime call returned, like a shape check's, is not there.)
  if (cudaPeekAtLastError() == e) (void)cudaGetLastError();
  throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(e));
}

void sync_default_stream(const char* what) { check(cudaStreamSynchronize(nullptr), what); }

namespace {
// The device the scopes of this thread last made current; -1: none yet. A thread
// that never chose a device is left on the scope's device rather than switched to
// device 0 (which, since CUDA 12, would create a context on GPU 0 in a process
// that uses only another GPU).
thread_local int t_scoped_device = -1;
}  // namespace

DeviceScope::DeviceScope(int device) {
  check(cudaSetDevice(device), "cudaSetDevice");
  entered(device);
}

DeviceScope::DeviceScope(int device, std::nothrow_t) noexcept {
  if (cudaSetDevice(device) != cudaSuccess) {
    (void)cudaGetLastError();  // best effort: what the scope frees is freed from the current device
    return;
  }
  entered(device);
}

void DeviceScope::entered(int device) noexcept {
  if (t_scoped_device >= 0 && t_scoped_device != device) previous_ = t_scoped_device;
  t_scoped_device = device;
}

DeviceScope::~DeviceScope() {
  if (previous_ < 0) return;
  if (cudaSetDevice(previous_) != cudaSuccess) (void)cudaGetLastError();
  t_scoped_device = previous_;
}

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    (void)cudaGetLastError();  // clear the sticky "no device / no driver" error
    return 0;
  }
  return n;
}

DeviceInfo device_info(int device) {
  cudaDeviceProp p{};
  check(cudaGetDeviceProperties(&p, device), "cudaGetDeviceProperties");
  auto attr = [&](cudaDeviceAttr a) {
    int v = 0;
    check(cudaDeviceGetAttribute(&v, a, device), "cudaDeviceGetAttribute");
    return v;
  };
  DeviceInfo d;
  d.name = p.name;
  d.sm = p.major * 10 + p.minor;
  d.multiprocessors = p.multiProcessorCount;
  d.memory_bytes = p.totalGlobalMem;
  const double mem_khz = attr(cudaDevAttrMemoryClockRate), bus_bits = attr(cudaDevAttrGlobalMemoryBusWidth);
  d.peak_gb_per_s = 2.0 * mem_khz * 1e3 * (bus_bits / 8.0) / 1e9;
  const double clock_hz = attr(cudaDevAttrClockRate) * 1e3;
  const double tc_flops_per_clock = p.major >= 9 ? 4096.0 : 2048.0;
  d.peak_bf16_tflops = d.multiprocessors * clock_hz * tc_flops_per_clock / 1e12;
  d.peak_fp32_tflops = d.multiprocessors * clock_hz * 128.0 * 2.0 / 1e12;
  return d;
}

}  // namespace tt::cuda
