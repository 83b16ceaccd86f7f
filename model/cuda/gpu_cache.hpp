// A sequence's context cache in device memory: per attention layer K/V rows
// (append-only, capacity grows by doubling), per Mamba layer the conv history
// and fp32 SSM state. Same layout as model/cache.hpp's host cache, so a cache
// moves between host and device with one copy per buffer (migration, tests).
#pragma once

#include <vector>

#include "kernels/cuda/device.hpp"
#include "model/cache.hpp"
#include "model/config.hpp"

namespace tt::gpu {

// What a denoiser block reads: device pointers into a context cache at a block boundary.
struct CacheView {
  int length = 0;
  std::vector<const float*> k, v;       // per attention slot, `length` rows of kv_dim
  std::vector<const float*> conv, ssm;  // per Mamba slot
};

class SequenceCache {
public:
  SequenceCache(const ModelConfig& config, int capacity_tokens = 0);

  int length() const { return length_; }
  void set_length(int n) { length_ = n; }
  int capacity() const { return capacity_; }
  // Ensures room for `tokens` rows of K/V (copies the rows held so far when it grows).
  void reserve(int tokens, cudaStream_t stream = nullptr);

  // Device pointers (a const cache hands out the same addresses: the device memory is not const).
  float* k(int slot) const { return k_[slot].get(); }
  float* v(int slot) const { return v_[slot].get(); }
  float* conv(int slot) const { return conv_[slot].get(); }
  float* ssm(int slot) const { return ssm_[slot].get(); }
  int attention_slots() const { return static_cast<int>(k_.size()); }
  int mamba_slots() const { return static_cast<int>(conv_.size()); }
  size_t bytes() const;

  CacheView view() const;
  // Host -> device: the whole cache a host view shows (a denoiser job's seed received from a
  // context actor), or a host cache (synchronous).
  void upload(const tt::CacheView& host);
  void upload(const tt::SequenceCache& host);
  // Device -> host: the K/V rows `host` lacks and the whole Mamba state, then its length
  // (synchronous); download() does it into an empty host cache.
  void download_into(tt::SequenceCache& host) const;
  tt::SequenceCache download() const;
  // Device -> device (stream-ordered peer copies): the K/V rows this cache lacks of `src`
  // and src's Mamba state, then src's length (a denoiser's mirror of a context cache).
  void pull_from(const SequenceCache& src, int src_device, int dst_device, cudaStream_t stream);

private:
  const ModelConfig& config_;
  int kv_dim_ = 0;
  int length_ = 0;
  int capacity_ = 0;
  std::vector<cuda::DeviceBuffer<float>> k_, v_, conv_, ssm_;
};

}  // namespace tt::gpu
