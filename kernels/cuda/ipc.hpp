// CUDA IPC for cache handles between processes on one node: a device buffer
// exported as 64 opaque bytes (cudaIpcMemHandle_t) plus its size and device,
// which travel in a cache handle; the lessee maps the same device memory
// without a copy. Text form (hex) for command lines and tests.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace tt::cuda {

struct IpcHandle {
  std::array<uint8_t, 64> bytes{};
  uint64_t size = 0;  // bytes of the exported allocation the lessee may read
  int device = 0;

  std::string to_hex() const;                          // "<device>:<size>:<128 hex digits>"
  static IpcHandle from_hex(const std::string& text);  // throws std::invalid_argument
};

// Exports a buffer allocated with cudaMalloc on `device` (the owner keeps it
// alive until every lessee has closed it). Throws std::runtime_error. The caller's
// current device is kept.
IpcHandle export_buffer(const void* device_ptr, size_t size, int device);

// Maps an exported buffer in this process (another process than the owner) into
// the address space of `device` (default: the owner's device; another one reads
// it peer to peer); unmapped on destruction. Neither changes the current device.
class ImportedBuffer {
public:
  explicit ImportedBuffer(const IpcHandle& handle, int device = -1);
  ~ImportedBuffer();
  ImportedBuffer(const ImportedBuffer&) = delete;
  ImportedBuffer& operator=(const ImportedBuffer&) = delete;

  const void* data() const { return ptr_; }
  size_t size() const { return size_; }

private:
  void* ptr_ = nullptr;
  size_t size_ = 0;
  int device_ = 0;  // mapped into this device's address space
};

}  // namespace tt::cuda
