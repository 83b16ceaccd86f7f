// CUDA IPC region importer (see gpu_region_import.hpp).
#include "model/cuda/gpu_region_import.hpp"

#include <map>

#include "kernels/cuda/device.hpp"
#include "kernels/cuda/ipc.hpp"

namespace tt::gpu {
namespace {

class GpuRegionImporter : public RegionImporter {
public:
  GpuRegionImporter(const ModelConfig& config, int device) : config_(config), device_(device) {}

  int device() const override { return device_; }

  bool view(uint64_t sequence, const DeviceRegion& region, CacheView& out, std::string& error) override {
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

  void drop(uint64_t sequence) override { mapped_.erase(sequence); }

private:
  struct Mapping {
    std::array<uint8_t, 64> ipc{};
    std::unique_ptr<cuda::ImportedBuffer> buffer;
  };
  const ModelConfig& config_;
  int device_;
  std::map<uint64_t, Mapping> mapped_;
};

}  // namespace

std::unique_ptr<RegionImporter> region_importer(const ModelConfig& config, int device) {
  return std::make_unique<GpuRegionImporter>(config, device);
}

}  // namespace tt::gpu
