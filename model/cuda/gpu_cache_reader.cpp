// GPU DeviceCacheReader: CUDA IPC mappings and NCCL-received mirrors (see gpu_cache_reader.hpp).
#include "model/cuda/gpu_cache_reader.hpp"

#include <map>

#include "kernels/cuda/device.hpp"
#include "kernels/cuda/ipc.hpp"
#include "model/cuda/gpu_cache.hpp"
#include "model/error.hpp"

namespace tt::gpu {
namespace {

class GpuDeviceCacheReader : public DeviceCacheReader {
public:
  GpuDeviceCacheReader(const ModelConfig& config, int device) : config_(config), device_(device) {}
  ~GpuDeviceCacheReader() override {
    cuda::DeviceScope on(device_, std::nothrow);  // the mirrors are freed on their device
    mirrors_.clear();
  }

  int device() const override { return device_; }

  bool map_region(uint64_t sequence, const DeviceRegion& region, tt::CacheView& out, std::string& error) override {
    auto& m = mapped_[sequence];
    if (!m.buffer || m.ipc != region.ipc) {
      m.buffer.reset();  // the owner's old allocation (its cache grew) is closed first
      cuda::IpcHandle h;
      h.bytes = region.ipc;
      h.size = region.bytes;
      h.device = region.device;
      try {
        m.buffer = std::make_unique<cuda::ImportedBuffer>(h, device_);
      } catch (const std::exception& e) {
        mapped_.erase(sequence);
        error = "cannot map the CUDA IPC cache of sequence " + std::to_string(sequence) + " (device " +
                std::to_string(region.device) + "): " + e.what();
        return false;
      }
      m.ipc = region.ipc;
    }
    out = region_view(m.buffer->data(), region, config_);
    out.device = device_;  // mapped into this device's address space
    return true;
  }

  bool receive(uint64_t sequence, int from, int to, CacheChannel& channel, tt::CacheView& out,
               std::string& error) override {
    if (from < 0 || to < from)
      return error = "NCCL cache handle with rows [" + std::to_string(from) + ", " + std::to_string(to) + ")", false;
    cuda::DeviceScope on(device_);
    auto& mirror = mirrors_[sequence];
    if (!mirror || from == 0) mirror = std::make_unique<SequenceCache>(config_, to);  // from 0: start over
    const bool fits = mirror->length() == from;
    if (!fits) {
      error = "NCCL cache handle of sequence " + std::to_string(sequence) + " carries rows from " +
              std::to_string(from) + " but this denoiser has " + std::to_string(mirror->length());
      // The owner sends the rows anyway: take them into a scratch mirror so that the channel
      // stays in step, then start over (the owner re-sends from row 0 after the error).
      mirror = std::make_unique<SequenceCache>(config_, to);
    }
    try {
      mirror->reserve(to);
      cuda::sync_default_stream("mirror reserve");  // reserve's copies, before the channel's stream writes
      channel.receive(delta_spans(*mirror, from, to));
    } catch (const std::exception& e) {
      mirrors_.erase(sequence);
      error = "NCCL cache transfer of sequence " + std::to_string(sequence) + " failed: " + e.what();
      return false;
    }
    if (!fits) {
      mirrors_.erase(sequence);
      return false;
    }
    mirror->set_length(to);
    out = mirror->view();
    return true;
  }

  void drop(uint64_t sequence) override {
    mapped_.erase(sequence);
    cuda::DeviceScope on(device_, std::nothrow);  // the calling thread may have another device current
    mirrors_.erase(sequence);
  }

private:
  struct Mapping {
    std::array<uint8_t, 64> ipc{};
    std::unique_ptr<cuda::ImportedBuffer> buffer;
  };
  const ModelConfig& config_;
  int device_;
  std::map<uint64_t, Mapping> mapped_;
  std::map<uint64_t, std::unique_ptr<SequenceCache>> mirrors_;  // NCCL
};

}  // namespace

std::vector<DeviceSpan> delta_spans(const SequenceCache& cache, int from, int to) {
  if (from < 0 || to < from || to > cache.capacity())
    throw Error("cache rows [" + std::to_string(from) + ", " + std::to_string(to) + ") are outside the cache (" +
                std::to_string(cache.capacity()) + " rows of room)");
  std::vector<DeviceSpan> spans;
  const size_t kv_row = static_cast<size_t>(cache.kv_dim()) * sizeof(float);
  for (int s = 0; s < cache.attention_slots(); ++s) {
    spans.push_back({cache.k(s) + static_cast<size_t>(from) * cache.kv_dim(), (to - from) * kv_row});
    spans.push_back({cache.v(s) + static_cast<size_t>(from) * cache.kv_dim(), (to - from) * kv_row});
  }
  if (cache.mamba_slots() > 0) spans.push_back({cache.conv(0), cache.mamba_bytes()});
  return spans;
}

std::unique_ptr<DeviceCacheReader> device_cache_reader(const ModelConfig& config, int device) {
  return std::make_unique<GpuDeviceCacheReader>(config, device);
}

}  // namespace tt::gpu
