// Device context cache (see gpu_cache.hpp).
#include "model/cuda/gpu_cache.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <mutex>
#include <new>
#include <string>

#include "kernels/cuda/ipc.hpp"
#include "model/error.hpp"

namespace tt::gpu {
namespace {

// CUDA IPC: freeing an exported allocation while another process still has it mapped
// is undefined behaviour. A denoiser closes its mapping when the next handle of the
// sequence names a new allocation or when the context releases the sequence, both a
// message away; so an exported allocation that is replaced or dropped is kept this
// long before cudaFree. (A denoiser that stays silent longer is declared dead by the
// heartbeats first.)
constexpr auto kExportedGrace = std::chrono::seconds(10);

struct Retired {
  cuda::DeviceBuffer<float> buffer;
  int device;
  std::chrono::steady_clock::time_point at;
};

std::mutex g_retired_mutex;
std::deque<Retired> g_retired;

// Frees the retired allocations older than the grace period.
void reap_retired() {
  std::deque<Retired> done;
  {
    std::lock_guard lock(g_retired_mutex);
    const auto now = std::chrono::steady_clock::now();
    while (!g_retired.empty() && now - g_retired.front().at >= kExportedGrace) {
      done.push_back(std::move(g_retired.front()));
      g_retired.pop_front();
    }
  }
  for (auto& r : done) {
    cuda::DeviceScope on(r.device, std::nothrow);
    r.buffer = cuda::DeviceBuffer<float>();
  }
}

// An allocation that may be mapped elsewhere: freed after the grace period, not now.
void retire_exported(cuda::DeviceBuffer<float>&& buffer, int device) {
  {
    std::lock_guard lock(g_retired_mutex);
    g_retired.push_back({std::move(buffer), device, std::chrono::steady_clock::now()});
  }
  reap_retired();
}

}  // namespace

SequenceCache::~SequenceCache() {
  if (exported_ && arena_.get() != nullptr) retire_exported(std::move(arena_), device_);
}

SequenceCache::SequenceCache(const ModelConfig& config, int capacity_tokens)
    : config_(config), kv_dim_(config.num_key_value_heads * config.head_dim) {
  LayerSlots slots(config);
  attention_slots_ = slots.attention;
  mamba_slots_ = slots.mamba;
  conv_floats_ = static_cast<size_t>(config.conv_kernel - 1) * config.conv_dim();
  ssm_floats_ = static_cast<size_t>(config.mamba_num_heads) * config.mamba_head_dim * config.ssm_state_size;
  kv_base_ = (mamba_floats() + 63) / 64 * 64;  // K/V rows start 256-byte aligned
  cuda::check(cudaGetDevice(&device_), "cache device");
  reserve(std::max(capacity_tokens, 16));
  cuda::check(cudaMemset(arena_.get(), 0, mamba_bytes()), "cache init");
  // Not ordered with the towers' non-blocking streams: a forward or a peer copy into this
  // state could otherwise run before the zeros land (or be overwritten by them).
  cuda::sync_default_stream("cache init");
}

void SequenceCache::reserve(int tokens, cudaStream_t stream) {
  if (tokens <= capacity_) return;
  const int cap = std::max(tokens, 2 * capacity_);
  cuda::DeviceBuffer<float> grown(arena_floats(cap));
  if (arena_.get() != nullptr) {
    auto copy = [&](float* dst, const float* src, size_t floats) {
      if (floats > 0)
        cuda::check(cudaMemcpyAsync(dst, src, floats * sizeof(float), cudaMemcpyDeviceToDevice, stream), "cache grow");
    };
    copy(grown.get(), arena_.get(), mamba_floats());
    const size_t rows = static_cast<size_t>(length_) * kv_dim_;
    for (int s = 0; s < attention_slots_; ++s) {
      float* k_new = grown.get() + kv_base_ + static_cast<size_t>(s) * 2 * cap * kv_dim_;
      copy(k_new, k(s), rows);
      copy(k_new + static_cast<size_t>(cap) * kv_dim_, v(s), rows);
    }
  }
  // The old allocation is freed by cudaFree, which waits for the device: the copies are
  // done by then. An exported one waits out the grace period first (denoisers map it).
  if (exported_) retire_exported(std::move(arena_), device_);
  arena_ = std::move(grown);
  exported_.reset();
  capacity_ = cap;
}

CacheView SequenceCache::view() const {
  CacheView v;
  v.length = length_;
  v.device = device_;
  for (int s = 0; s < attention_slots_; ++s) {
    v.k.push_back(k(s));
    v.v.push_back(this->v(s));
  }
  for (int s = 0; s < mamba_slots_; ++s) {
    v.conv.push_back(conv(s));
    v.ssm.push_back(ssm(s));
  }
  return v;
}

void SequenceCache::upload(const tt::SequenceCache& host) {
  if (host.attention_slots() != attention_slots() || host.mamba_slots() != mamba_slots())
    throw Error("gpu cache upload: the host cache belongs to another model");
  // A host cache may hold fewer rows than its length (an AR sequence's tracks the length only).
  const size_t rows = static_cast<size_t>(std::max(host.length(), 0)) * kv_dim_;
  for (int s = 0; s < attention_slots(); ++s)
    if (host.kv(s).k.size() < rows || host.kv(s).v.size() < rows)
      throw Error("gpu cache upload: the host cache holds fewer K/V rows than its length");
  for (int s = 0; s < mamba_slots(); ++s)
    if (host.mamba(s).conv.size() < conv_floats_ || host.mamba(s).ssm.size() < ssm_floats_)
      throw Error("gpu cache upload: the host cache's Mamba state is too small");
  upload(view_of(host));
}

void SequenceCache::upload(const tt::CacheView& host) {
  if (static_cast<int>(host.k.size()) != attention_slots() || static_cast<int>(host.conv.size()) != mamba_slots())
    throw Error("gpu cache upload: the host cache belongs to another model");
  if (host.device >= 0) throw Error("gpu cache upload: the view is of device memory, not host memory");
  if (host.length < 0) throw Error("gpu cache upload: negative length");
  reserve(host.length);
  auto put = [](float* dst, const float* src, size_t floats) {
    cuda::check(cudaMemcpy(dst, src, floats * sizeof(float), cudaMemcpyHostToDevice), "cache upload");
  };
  const size_t rows = static_cast<size_t>(host.length) * kv_dim_;
  for (int s = 0; s < attention_slots(); ++s) {
    put(k(s), host.k[s], rows);
    put(v(s), host.v[s], rows);
  }
  for (int s = 0; s < mamba_slots(); ++s) {
    put(conv(s), host.conv[s], conv_floats_);
    put(ssm(s), host.ssm[s], ssm_floats_);
  }
  cuda::sync_default_stream("cache upload");  // pageable copies (and reserve's): landed before a tower reads
  length_ = host.length;
}

void SequenceCache::download_into(tt::SequenceCache& host) const {
  auto get = [](float* dst, const float* src, size_t floats) {
    if (floats > 0) cuda::check(cudaMemcpy(dst, src, floats * sizeof(float), cudaMemcpyDeviceToHost), "cache download");
  };
  const size_t to = static_cast<size_t>(length_) * kv_dim_;
  for (int s = 0; s < attention_slots(); ++s) {
    auto& kv = host.kv(s);
    const size_t from = std::min({kv.k.size(), kv.v.size(), to});
    kv.k.resize(to);
    kv.v.resize(to);
    get(kv.k.data() + from, k(s) + from, to - from);
    get(kv.v.data() + from, v(s) + from, to - from);
  }
  for (int s = 0; s < mamba_slots(); ++s) {
    auto& m = host.mamba(s);
    m.conv.resize(conv_floats_);
    m.ssm.resize(ssm_floats_);
    get(m.conv.data(), conv(s), conv_floats_);
    get(m.ssm.data(), ssm(s), ssm_floats_);
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
  if (to < from)
    throw Error("gpu cache: the source holds " + std::to_string(to) + " rows, fewer than the mirror's " +
                std::to_string(from));
  reserve(to, stream);
  auto peer = [&](float* dst, const float* s, size_t n) {
    cuda::check(cudaMemcpyPeerAsync(dst, dst_device, s, src_device, n * sizeof(float), stream), "peer copy");
  };
  const size_t off = static_cast<size_t>(from) * kv_dim_, rows = static_cast<size_t>(to - from) * kv_dim_;
  for (int s = 0; s < attention_slots(); ++s) {
    peer(k(s) + off, src.k(s) + off, rows);
    peer(v(s) + off, src.v(s) + off, rows);
  }
  peer(conv(0), src.conv(0), mamba_floats());  // one contiguous run
  length_ = to;
}

DeviceRegion SequenceCache::region(int device) const {
  if (!exported_) {
    reap_retired();
    exported_ = cuda::export_buffer(arena_.get(), bytes(), device).bytes;
  }
  DeviceRegion r;
  r.device = device;
  r.ipc = *exported_;
  r.bytes = bytes();
  r.kv_offset = kv_base_ * sizeof(float);
  r.kv_layer_stride = 2ull * capacity_ * kv_dim_ * sizeof(float);
  r.v_offset = static_cast<uint64_t>(capacity_) * kv_dim_ * sizeof(float);
  r.mamba_offset = 0;
  r.length = length_;
  return r;
}

}  // namespace tt::gpu
