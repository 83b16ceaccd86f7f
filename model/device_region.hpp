// GPU-native cache handles on one node (CUDA IPC): a context process keeps each
// sequence's cache in one device allocation and exports it; a denoiser process
// on the same node maps that allocation and reads the K/V rows and Mamba state
// in place, so neither side copies the cache through host memory.
// Plain types and interfaces: model/cuda implements them.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "model/cache.hpp"
#include "model/config.hpp"

namespace tt {

// One sequence's cache in one device allocation (offsets in bytes from its start):
// attention slot l's K row r at kv_offset + l * kv_layer_stride + r * row bytes, its V
// row r at the same place + v_offset; Mamba slot m's conv state at mamba_offset +
// m * (conv + SSM bytes), its SSM state right after it (messages/cache_handle.hpp).
struct DeviceRegion {
  int device = -1;
  std::array<uint8_t, 64> ipc{};  // cudaIpcMemHandle_t of the allocation
  uint64_t bytes = 0;             // of the allocation
  uint64_t kv_offset = 0, kv_layer_stride = 0, v_offset = 0, mamba_offset = 0;
  int length = 0;                 // K/V rows (committed tokens)
};

// Lessee side: maps the regions other processes export and hands out views of them.
class RegionImporter {
public:
  virtual ~RegionImporter() = default;
  // The GPU this process computes on (the views are read from it).
  virtual int device() const = 0;
  // A view of `sequence`'s region (device pointers, out.device set), valid until the next
  // view() or drop() of the sequence; maps the allocation again only when it changed.
  // False with `error` when the region cannot be mapped or does not fit the model.
  virtual bool view(uint64_t sequence, const DeviceRegion& region, CacheView& out, std::string& error) = 0;
  virtual void drop(uint64_t sequence) = 0;
};

using RegionImporterFactory = std::function<std::unique_ptr<RegionImporter>()>;
// Installed by `twotower denoiser --device N`: denoiser actors made afterwards take
// cuda_ipc cache handles and say so when they register.
void install_region_importer(RegionImporterFactory factory);
const RegionImporterFactory& installed_region_importer();

// The CacheView a region shows for `config` when mapped at `base` (checks nothing: the
// cache handle it came from was checked, messages/cache_handle.hpp).
CacheView region_view(const void* base, const DeviceRegion& region, const ModelConfig& config);

}  // namespace tt
