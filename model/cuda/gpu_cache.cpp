// Device context cache (see gpu_cache.hpp).
#include "model/cuda/gpu_cache.hpp"

#include <algorithm>

#include "model/error.hpp"

namespace tt::gpu {

SequenceCache::SequenceCache(const ModelConfig& config, int capacity_tokens)
    : config_(config), kv_dim_(config.num_key_value_heads * config.head_dim) {
  LayerSlots slots(config);
  const size_t conv = static_cast<size_t>(config.conv_kernel - 1) * config.conv_dim();
  const size_t ssm = static_cast<size_t>(config.mamba_num_heads) * config.mamba_head_dim * config.ssm_state_size;
  k_.resize(slots.attention);
  v_.resize(slots.attention);
  for (int s = 0; s < slots.mamba; ++s) {
    conv_.emplace_back(conv);
    ssm_.emplace_back(ssm);
    cuda::check(cudaMemset(conv_.back().get(), 0, conv * sizeof(float)), "cache init");
    cuda::check(cudaMemset(ssm_.back().get(), 0, ssm * sizeof(float)), "cache init");
  }
  reserve(std::max(capacity_tokens, 16));
}

void SequenceCache::reserve(int tokens, cudaStream_t stream) {
  if (tokens <= capacity_) return;
  const int cap = std::max(tokens, 2 * capacity_);
  const size_t row = static_cast<size_t>(kv_dim_) * sizeof(float);
  for (auto* bufs : {&k_, &v_}) {
    for (auto& b : *bufs) {
      cuda::DeviceBuffer<float> grown(static_cast<size_t>(cap) * kv_dim_);
      if (length_ > 0)
        cuda::check(cudaMemcpyAsync(grown.get(), b.get(), length_ * row, cudaMemcpyDeviceToDevice, stream),
                    "cache grow");
      // The old buffer is freed by cudaFree, which waits for the device: the copy is done by then.
      b = std::move(grown);
    }
  }
  capacity_ = cap;
}

size_t SequenceCache::bytes() const {
  size_t n = 0;
  for (const auto* bufs : {&k_, &v_, &conv_, &ssm_})
    for (const auto& b : *bufs) n += b.size() * sizeof(float);
  return n;
}

CacheView SequenceCache::view() const {
  CacheView v;
  v.length = length_;
  for (size_t s = 0; s < k_.size(); ++s) {
    v.k.push_back(k_[s].get());
    v.v.push_back(v_[s].get());
  }
  for (size_t s = 0; s < conv_.size(); ++s) {
    v.conv.push_back(conv_[s].get());
    v.ssm.push_back(ssm_[s].get());
  }
  return v;
}

void SequenceCache::upload(const tt::SequenceCache& host) { upload(view_of(host)); }

void SequenceCache::upload(const tt::CacheView& host) {
  if (static_cast<int>(host.k.size()) != attention_slots() || static_cast<int>(host.conv.size()) != mamba_slots())
    throw Error("gpu cache upload: the host cache belongs to another model");
  reserve(host.length);
  const size_t rows = static_cast<size_t>(host.length) * kv_dim_;
  for (int s = 0; s < attention_slots(); ++s) {
    cuda::check(cudaMemcpy(k_[s].get(), host.k[s], rows * sizeof(float), cudaMemcpyHostToDevice), "cache upload");
    cuda::check(cudaMemcpy(v_[s].get(), host.v[s], rows * sizeof(float), cudaMemcpyHostToDevice), "cache upload");
  }
  for (int s = 0; s < mamba_slots(); ++s) {
    cuda::check(cudaMemcpy(conv_[s].get(), host.conv[s], conv_[s].size() * sizeof(float), cudaMemcpyHostToDevice),
                "cache upload");
    cuda::check(cudaMemcpy(ssm_[s].get(), host.ssm[s], ssm_[s].size() * sizeof(float), cudaMemcpyHostToDevice),
                "cache upload");
  }
  length_ = host.length;
}

void SequenceCache::download_into(tt::SequenceCache& host) const {
  const size_t from = static_cast<size_t>(host.length()) * kv_dim_, to = static_cast<size_t>(length_) * kv_dim_;
  for (int s = 0; s < attention_slots(); ++s) {
    auto& kv = host.kv(s);
    kv.k.resize(to);
    kv.v.resize(to);
    cuda::check(cudaMemcpy(kv.k.data() + from, k_[s].get() + from, (to - from) * sizeof(float), cudaMemcpyDeviceToHost),
                "cache download");
    cuda::check(cudaMemcpy(kv.v.data() + from, v_[s].get() + from, (to - from) * sizeof(float), cudaMemcpyDeviceToHost),
                "cache download");
  }
  for (int s = 0; s < mamba_slots(); ++s) {
    host.mamba(s).conv = conv_[s].download();
    host.mamba(s).ssm = ssm_[s].download();
  }
  host.set_length(length_);
}

tt::SequenceCache SequenceCache::download() const {
  tt::SequenceCache host(config_);
  download_into(host);
  return host;
}

void SequenceCache::pull_from(const SequenceCache& src, int src_device, int dst_device, cudaStream_t stream) {
  const int from = length_, to = src.length();
  reserve(to, stream);
  auto peer = [&](float* dst, const float* s, size_t n) {
    cuda::check(cudaMemcpyPeerAsync(dst, dst_device, s, src_device, n * sizeof(float), stream), "peer copy");
  };
  const size_t off = static_cast<size_t>(from) * kv_dim_, rows = static_cast<size_t>(to - from) * kv_dim_;
  for (int s = 0; s < attention_slots(); ++s) {
    peer(k(s) + off, src.k(s) + off, rows);
    peer(v(s) + off, src.v(s) + off, rows);
  }
  for (int s = 0; s < mamba_slots(); ++s) {
    peer(conv(s), src.conv(s), conv_[s].size());
    peer(ssm(s), src.ssm(s), ssm_[s].size());
  }
  length_ = to;
}

}  // namespace tt::gpu
