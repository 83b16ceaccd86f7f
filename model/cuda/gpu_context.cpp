// GPU ContextCompute (see gpu_context.hpp).
#include "model/cuda/gpu_context.hpp"

#include <map>

#include "model/cuda/gpu_backend.hpp"
#include "model/cuda/gpu_cache.hpp"
#include "model/cuda/gpu_tower.hpp"
#include "model/cuda/gpu_weights.hpp"

namespace tt::gpu {
namespace {

class GpuContextCompute : public ContextCompute {
public:
  GpuContextCompute(const ModelConfig& config, const Checkpoint& checkpoint, int device)
      : config_(config), device_(device) {
    check_device(device);
    cuda::DeviceScope on(device_);
    cuda::check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
    weights_ = upload_tower(config, checkpoint, "context_tower", "context_lm_head");
    tower_ = std::make_unique<Tower>(config, weights_, stream_);
  }
  ~GpuContextCompute() override {
    caches_.clear();
    tower_.reset();
    if (stream_) cudaStreamDestroy(stream_);
  }

  void extend(std::span<const Item> items, std::vector<int32_t>& picked) override {
    cuda::DeviceScope on(device_);
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
    tower_->forward(towers);
    picked = pick_rows(*tower_, picks);
    cuda::check(cudaStreamSynchronize(stream_), "context forward");
    for (const auto& it : items) {
      const SequenceCache& dev = *caches_.at(it.sequence_id);
      if (it.host_copy) copy_back(dev, *it.cache);
      else it.cache->set_length(dev.length());  // AR: the device cache is the only one (48 MB/forward saved at 30B)
    }
  }

  void forget(uint64_t sequence_id) override { caches_.erase(sequence_id); }

  void score_logits(std::span<const int32_t> tokens, std::span<const int> rows, std::vector<float>& logits) override {
    cuda::DeviceScope on(device_);
    SequenceCache cache(config_, static_cast<int>(tokens.size()));
    TowerItem item{tokens, &cache, nullptr, nullptr, true};
    tower_->forward({&item, 1});
    logits = tower_->logits(rows);
  }

private:
  // host <- device: the K/V rows the host lacks and the whole Mamba state.
  void copy_back(const SequenceCache& dev, tt::SequenceCache& host) const {
    const int kvd = config_.num_key_value_heads * config_.head_dim;
    const size_t from = static_cast<size_t>(host.length()) * kvd, to = static_cast<size_t>(dev.length()) * kvd;
    const SequenceCache& d = dev;
    for (int s = 0; s < host.attention_slots(); ++s) {
      auto& kv = host.kv(s);
      kv.k.resize(to);
      kv.v.resize(to);
      cuda::check(cudaMemcpy(kv.k.data() + from, d.k(s) + from, (to - from) * sizeof(float), cudaMemcpyDeviceToHost),
                  "cache copy-back");
      cuda::check(cudaMemcpy(kv.v.data() + from, d.v(s) + from, (to - from) * sizeof(float), cudaMemcpyDeviceToHost),
                  "cache copy-back");
    }
    for (int s = 0; s < host.mamba_slots(); ++s) {
      auto& m = host.mamba(s);
      cuda::check(cudaMemcpy(m.conv.data(), d.conv(s), m.conv.size() * sizeof(float), cudaMemcpyDeviceToHost),
                  "cache copy-back");
      cuda::check(cudaMemcpy(m.ssm.data(), d.ssm(s), m.ssm.size() * sizeof(float), cudaMemcpyDeviceToHost),
                  "cache copy-back");
    }
    host.set_length(dev.length());
  }

  const ModelConfig& config_;
  int device_;
  cudaStream_t stream_ = nullptr;
  TowerWeights weights_;
  std::unique_ptr<Tower> tower_;
  std::map<uint64_t, std::unique_ptr<SequenceCache>> caches_;
};

}  // namespace

std::unique_ptr<ContextCompute> context_compute(const ModelConfig& config, const Checkpoint& checkpoint, int device) {
  return std::make_unique<GpuContextCompute>(config, checkpoint, device);
}

}  // namespace tt::gpu
