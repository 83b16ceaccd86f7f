// Region views and the process-wide device cache reader and channel factory (see device_region.hpp).
#include "model/device_region.hpp"

namespace tt {
namespace {
DeviceCacheReaderFactory& reader_factory() {
  static DeviceCacheReaderFactory f;
  return f;
}
ChannelFactory& channel_factory() {
  static ChannelFactory f;
  return f;
}
}  // namespace

void install_channel_factory(ChannelFactory factory) { channel_factory() = std::move(factory); }
const ChannelFactory& installed_channel_factory() { return channel_factory(); }

void install_device_cache_reader(DeviceCacheReaderFactory factory) { reader_factory() = std::move(factory); }
const DeviceCacheReaderFactory& installed_device_cache_reader() { return reader_factory(); }

CacheView region_view(const void* base, const DeviceRegion& region, const ModelConfig& config) {
  const LayerSlots slots(config);
  const auto* b = static_cast<const uint8_t*>(base);
  auto at = [&](uint64_t offset) { return reinterpret_cast<const float*>(b + offset); };
  const uint64_t conv = static_cast<uint64_t>(config.conv_kernel - 1) * config.conv_dim() * sizeof(float);
  const uint64_t ssm =
      static_cast<uint64_t>(config.mamba_num_heads) * config.mamba_head_dim * config.ssm_state_size * sizeof(float);
  CacheView v;
  v.length = region.length;
  v.device = region.device;
  for (int l = 0; l < slots.attention; ++l) {
    v.k.push_back(at(region.kv_offset + l * region.kv_layer_stride));
    v.v.push_back(at(region.kv_offset + l * region.kv_layer_stride + region.v_offset));
  }
  for (int m = 0; m < slots.mamba; ++m) {
    v.conv.push_back(at(region.mamba_offset + m * (conv + ssm)));
    v.ssm.push_back(at(region.mamba_offset + m * (conv + ssm) + conv));
  }
  return v;
}

}  // namespace tt
