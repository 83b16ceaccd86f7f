// CUDA IPC export/import of device buffers and the handle's text form.
#include "kernels/cuda/ipc.hpp"

#include <cuda_runtime_api.h>

#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "kernels/cuda/device.hpp"
#include "kernels/cuda/hex.hpp"

namespace tt::cuda {

std::string IpcHandle::to_hex() const {
  return std::to_string(device) + ":" + std::to_string(size) + ":" + hex_encode(bytes.data(), bytes.size());
}

IpcHandle IpcHandle::from_hex(const std::string& text) {
  const size_t a = text.find(':'), b = text.find(':', a == std::string::npos ? a : a + 1);
  if (a == std::string::npos || b == std::string::npos)
    throw std::invalid_argument("CUDA IPC handle: expected DEVICE:SIZE:<128 hex digits>");
  IpcHandle h;
  try {
    h.device = std::stoi(text.substr(0, a));
    h.size = std::stoull(text.substr(a + 1, b - a - 1));
  } catch (const std::exception&) {
    throw std::invalid_argument("CUDA IPC handle: bad device or size");
  }
  hex_decode(std::string_view(text).substr(b + 1), h.bytes.data(), h.bytes.size(), "CUDA IPC handle");
  return h;
}

IpcHandle export_buffer(const void* device_ptr, size_t size, int device) {
  DeviceScope on(device);
  cudaIpcMemHandle_t raw;
  check(cudaIpcGetMemHandle(&raw, const_cast<void*>(device_ptr)), "cudaIpcGetMemHandle");
  IpcHandle h;
  static_assert(sizeof(raw) == 64, "cudaIpcMemHandle_t is 64 bytes");
  std::memcpy(h.bytes.data(), &raw, sizeof raw);
  h.size = size;
  h.device = device;
  return h;
}

ImportedBuffer::ImportedBuffer(const IpcHandle& handle, int device)
    : size_(handle.size), device_(device >= 0 ? device : handle.device) {
  DeviceScope on(device_);
  cudaIpcMemHandle_t raw;
  std::memcpy(&raw, handle.bytes.data(), sizeof raw);
  check(cudaIpcOpenMemHandle(&ptr_, raw, cudaIpcMemLazyEnablePeerAccess), "cudaIpcOpenMemHandle");
}

ImportedBuffer::~ImportedBuffer() {
  if (ptr_ == nullptr) return;
  DeviceScope on(device_, std::nothrow);  // closed in the context it was opened in
  if (cudaIpcCloseMemHandle(ptr_) != cudaSuccess) (void)cudaGetLastError();  // not the next launch's error
}

}  // namespace tt::cuda
