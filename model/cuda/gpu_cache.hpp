// A sequence's context cache in device memory: per attention layer K/V rows
// (append-only, capacity grows by doubling), per Mamba layer the conv history
// and fp32 SSM state. Same layout per buffer as model/cache.hpp's host cache, so
// a cache moves between host and device with one copy per buffer. All buffers
// live in one allocation, which another process on the node can map (CUDA IPC):
// Mamba state first (conv then SSM per slot), then per attention slot K rows
// then V rows, `capacity` rows each -- the layout of model/device_region.hpp.
#pragma once

#include <array>
#include <optional>
#include <vector>

#include "kernels/cuda/device.hpp"
#include "model/cache.hpp"
#include "model/device_region.hpp"
#include "model/config.hpp"

namespace tt::gpu {

// What a denoiser block reads: device pointers into a context cache at a block boundary
// (the host's CacheView with `device` set to the GPU they point into).
using CacheView = tt::CacheView;

class SequenceCache {
public:
  // On the current device, its Mamba state zeroed (synchronous).
  SequenceCache(const ModelConfig& config, int capacity_tokens = 0);
  ~SequenceCache();  // an exported allocation is retired, not freed (see region())
  SequenceCache(SequenceCache&&) noexcept = default;

  int length() const { return length_; }
  void set_length(int n) { length_ = n; }
  int capacity() const { return capacity_; }
  // Ensures room for `tokens` rows of K/V (a new allocation holding the rows and state so far).
  void reserve(int tokens, cudaStream_t stream = nullptr);

  // Device pointers (a const cache hands out the same addresses: the device memory is not const).
  float* k(int slot) const { return at(kv_base_ + static_cast<size_t>(slot) * 2 * capacity_ * kv_dim_); }
  float* v(int slot) const { return k(slot) + static_cast<size_t>(capacity_) * kv_dim_; }
  float* conv(int slot) const { return at(static_cast<size_t>(slot) * (conv_floats_ + ssm_floats_)); }
  float* ssm(int slot) const { return conv(slot) + conv_floats_; }
  int attention_slots() const { return attention_slots_; }
  int mamba_slots() const { return mamba_slots_; }
  int kv_dim() const { return kv_dim_; }
  int device() const { return device_; }  // the GPU current when it was made
  // The whole Mamba state, one contiguous run from conv(0).
  size_t mamba_bytes() const { return mamba_floats() * sizeof(float); }
  size_t bytes() const { return arena_.size() * sizeof(float); }

  CacheView view() const;
  // Host -> device: the whole cache a host view shows (a denoiser job's seed received from a
  // context actor), or a host cache (synchronous: any stream may read it afterwards).
  // Throws tt::Error for another model's cache, a device view, or a host cache that holds
  // fewer K/V rows than its length.
  void upload(const tt::CacheView& host);
  void upload(const tt::SequenceCache& host);
  // Device -> host: the K/V rows `host` does not hold yet (by its buffers' sizes, not its
  // length) and the whole Mamba state, then its length (synchronous); download() does it
  // into an empty host cache.
  void download_into(tt::SequenceCache& host) const;
  tt::SequenceCache download() const;
  // Device -> device (stream-ordered peer copies): the K/V rows this cache lacks of `src`
  // and src's Mamba state, then src's length (a denoiser's mirror of a context cache).
  // Throws tt::Error when src holds fewer rows than this cache.
  void pull_from(const SequenceCache& src, int src_device, int dst_device, cudaStream_t stream);

  // The allocation as another process on the node maps it (CUDA IPC); exported once per
  // allocation. The region stays valid until the cache grows or is destroyed; after that
  // an exported allocation is freed only 10 s later (a mapping elsewhere must close
  // before cudaFree: the denoiser closes it on the sequence's next handle or release).
  DeviceRegion region(int device) const;

private:
  float* at(size_t offset_floats) const { return arena_.get() + offset_floats; }
  size_t mamba_floats() const { return mamba_slots_ * (conv_floats_ + ssm_floats_); }
  size_t arena_floats(int capacity) const { return kv_base_ + static_cast<size_t>(attention_slots_) * 2 * capacity * kv_dim_; }

  const ModelConfig& config_;
  int kv_dim_ = 0;
  int device_ = 0;
  int attention_slots_ = 0, mamba_slots_ = 0;
  size_t conv_floats_ = 0, ssm_floats_ = 0;
  size_t kv_base_ = 0;  // floats before attention slot 0's K rows (the Mamba state, padded)
  int length_ = 0;
  int capacity_ = 0;
  cuda::DeviceBuffer<float> arena_;
  mutable std::optional<std::array<uint8_t, 64>> exported_;  // IPC handle of arena_
};

}  // namespace tt::gpu
