// GPU ContextCompute (see gpu_context.hpp).
#include "model/cuda/gpu_context.hpp"

#include <map>

#include "model/cuda/gpu_cache.hpp"
#include "model/cuda/gpu_cache_reader.hpp"
#include "model/cuda/gpu_tower.hpp"

namespace tt::gpu {
namespace {

class GpuContextCompute : public ContextCompute {
public:
  GpuContextCompute(const ModelConfig& config, const Checkpoint& checkpoint, int device)
      : config_(config), tower_(config, checkpoint, device, DeviceTower::Kind::context) {}
  ~GpuContextCompute() override {
    cuda::DeviceScope on(tower_.device(), std::nothrow);  // the caches are freed on their device
    caches_.clear();
  }

  void extend(std::span<const Item> items, std::vector<int32_t>& picked) override {
    cuda::DeviceScope on(tower_.device());
    std::vector<TowerItem> towers;
    std::vector<RowPick> picks;
    int r = 0;
    for (const auto& it : items) {
      auto& dev = caches_[it.sequence_id];
      // First sight, or the host cache was replaced behind our back (migration): start from the host's.
      // (An AR sequence's host cache only tracks the length, so it is never replaced this way.)
      if (!dev || dev->length() != it.cache->length()) {
        dev = std::make_unique<SequenceCache>(config_, it.cache->length() + static_cast<int>(it.tokens.size()));
        if (it.cache->length() > 0) dev->upload(*it.cache);
      }
      towers.push_back(TowerItem{it.tokens, dev.get(), nullptr, nullptr, true});
      r += static_cast<int>(it.tokens.size());
      if (it.pick) picks.push_back({r - 1, it.temperature, it.seed, it.stream});
    }
    tower_.tower().forward(towers);
    // The host caches follow the length only; sync_host copies the contents when a host
    // transport needs them (AR sequences never do: 48 MB of Mamba state per forward saved at 30B).
    // Set before the pick, which may throw: the device caches have the rows already, and a
    // host length behind them would make the next extend re-upload from the host cache.
    for (const auto& it : items) it.cache->set_length(caches_.at(it.sequence_id)->length());
    picked = pick_rows(tower_.tower(), picks);
    cuda::check(cudaStreamSynchronize(tower_.stream()), "context forward");
  }

  void forget(uint64_t sequence_id) override {
    cuda::DeviceScope on(tower_.device(), std::nothrow);  // the calling thread may have another device current
    caches_.erase(sequence_id);
  }

  void sync_host(uint64_t sequence_id, tt::SequenceCache& host) override {
    auto it = caches_.find(sequence_id);
    if (it == caches_.end()) return;  // never extended: the host cache is all there is
    cuda::DeviceScope on(tower_.device());
    it->second->download_into(host);
  }

  int device() const override { return tower_.device(); }

  size_t device_cache_bytes() const override {
    size_t n = 0;
    for (const auto& [id, cache] : caches_) n += cache->bytes();
    return n;
  }

  bool send_rows(uint64_t sequence_id, int from, CacheChannel& channel) override {
    auto it = caches_.find(sequence_id);
    if (it == caches_.end()) return false;
    channel.send(delta_spans(*it->second, from, it->second->length()));
    return true;
  }

  bool export_region(uint64_t sequence_id, DeviceRegion& out) override {
    auto it = caches_.find(sequence_id);
    if (it == caches_.end()) return false;
    cuda::DeviceScope on(tower_.device());
    out = it->second->region(tower_.device());
    return true;
  }

  void score_logits(std::span<const int32_t> tokens, std::span<const int> rows, std::vector<float>& logits) override {
    cuda::DeviceScope on(tower_.device());
    SequenceCache cache(config_, static_cast<int>(tokens.size()));
    TowerItem item{tokens, &cache, nullptr, nullptr, true};
    tower_.tower().forward({&item, 1});
    logits = tower_.tower().logits(rows);
  }

private:
  const ModelConfig& config_;
  DeviceTower tower_;
  std::map<uint64_t, std::unique_ptr<SequenceCache>> caches_;  // freed before the tower
};

}  // namespace

std::unique_ptr<ContextCompute> context_compute(const ModelConfig& config, const Checkpoint& checkpoint, int device) {
  return std::make_unique<GpuContextCompute>(config, checkpoint, device);
}

}  // namespace tt::gpu
