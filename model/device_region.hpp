// GPU-native cache handles. On one node (CUDA IPC) a context process keeps each
// sequence's cache in one device allocation and exports it; a denoiser process
// maps that allocation and reads the K/V rows and Mamba state in place. Across
// nodes (NCCL) the context sends the new K/V rows and the Mamba state GPU to
// GPU into the denoiser's mirror. Neither copies the cache through host memory.
// Plain types and interfaces: model/cuda implements them.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
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

// A device-to-device byte channel to one peer process on another node (NCCL,
// model/cuda/gpu_channel.hpp): the owner sends a sequence's new K/V rows and its
// Mamba state, the lessee receives them into its mirror of the cache.
struct DeviceSpan {
  void* data;  // device memory (the owner only reads it)
  size_t bytes;
};

class CacheChannel {
public:
  virtual ~CacheChannel() = default;
  // Owner: enqueues `spans` to the peer, in order; returns before they arrive (the
  // memory must stay as it is until the peer has it: the owner does not extend a
  // sequence while its block is out). Throws tt::Error when the channel is broken.
  virtual void send(std::span<const DeviceSpan> spans) = 0;
  // Lessee: receives into `spans`, in order; returns when they arrived. Throws
  // tt::Error when the peer fails or does not send in time.
  virtual void receive(std::span<const DeviceSpan> spans) = 0;
  // The peer is gone: ends every transfer in flight (never throws).
  virtual void abort() = 0;
};

// How a process makes channels (installed where NCCL and a GPU are present):
// the owner makes an id and joins as rank 0, its lessee joins the same id as
// rank 1; join blocks until both joined (or throws tt::Error after a timeout).
struct ChannelFactory {
  std::function<std::string()> new_id;
  std::function<std::unique_ptr<CacheChannel>(const std::string& id, int rank)> join;
  explicit operator bool() const { return new_id && join; }
};
void install_channel_factory(ChannelFactory factory);
const ChannelFactory& installed_channel_factory();

// Lessee side: the device copies of caches a denoiser on a GPU reads, for the two
// GPU transports: regions of other processes on the node mapped in place (CUDA
// IPC), and per-sequence mirrors filled over a CacheChannel (NCCL).
class DeviceCacheReader {
public:
  virtual ~DeviceCacheReader() = default;
  // The GPU this process computes on (the views are read from it).
  virtual int device() const = 0;
  // A view of `sequence`'s region (device pointers, out.device set), valid until the next
  // call or drop() for the sequence; maps the allocation again only when it changed.
  // False with `error` when the region cannot be mapped.
  virtual bool map_region(uint64_t sequence, const DeviceRegion& region, CacheView& out, std::string& error) = 0;
  // Receives rows [from, to) of every attention layer (K rows then V rows per layer) and
  // the Mamba state into the sequence's mirror, which must hold `from` rows (0: a new
  // mirror), and views it. False with `error` when the mirror does not fit or the
  // transfer fails (the mirror is dropped).
  virtual bool receive(uint64_t sequence, int from, int to, CacheChannel& channel, CacheView& out,
                       std::string& error) = 0;
  virtual void drop(uint64_t sequence) = 0;
};

using DeviceCacheReaderFactory = std::function<std::unique_ptr<DeviceCacheReader>()>;
// Installed by `twotower denoiser --device N`: denoiser actors made afterwards take
// cuda_ipc (and, with a channel factory, nccl) cache handles and say so when they register.
void install_device_cache_reader(DeviceCacheReaderFactory factory);
const DeviceCacheReaderFactory& installed_device_cache_reader();

// The CacheView a region shows for `config` when mapped at `base` (checks nothing: the
// cache handle it came from was checked, messages/cache_handle.hpp).
CacheView region_view(const void* base, const DeviceRegion& region, const ModelConfig& config);

}  // namespace tt
