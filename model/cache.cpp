// Per-sequence context cache.
#include "model/cache.hpp"

namespace tt {

LayerSlots::LayerSlots(const ModelConfig& config) {
  slot.resize(config.layers.size(), -1);
  for (size_t i = 0; i < config.layers.size(); ++i) {
    switch (config.layers[i]) {
      case LayerKind::attention: slot[i] = attention++; break;
      case LayerKind::mamba: slot[i] = mamba++; break;
      case LayerKind::moe:
      case LayerKind::mlp: break;
    }
  }
}

SequenceCache::SequenceCache(const ModelConfig& config) {
  LayerSlots slots(config);
  kv_.resize(slots.attention);
  mamba_.resize(slots.mamba);
  const size_t conv = static_cast<size_t>(config.conv_kernel - 1) * config.conv_dim();
  const size_t ssm = static_cast<size_t>(config.mamba_num_heads) * config.mamba_head_dim * config.ssm_state_size;
  for (auto& m : mamba_) {
    m.conv.assign(conv, 0.0f);
    m.ssm.assign(ssm, 0.0f);
  }
}

size_t SequenceCache::bytes() const {
  size_t n = 0;
  for (const auto& kv : kv_) n += (kv.k.capacity() + kv.v.capacity()) * sizeof(float);
  for (const auto& m : mamba_) n += (m.conv.size() + m.ssm.size()) * sizeof(float);
  return n;
}

CacheView view_of(const SequenceCache& cache) {
  CacheView v;
  v.length = cache.length();
  for (int s = 0; s < cache.attention_slots(); ++s) {
    v.k.push_back(cache.kv(s).k.data());
    v.v.push_back(cache.kv(s).v.data());
  }
  for (int s = 0; s < cache.mamba_slots(); ++s) {
    v.conv.push_back(cache.mamba(s).conv.data());
    v.ssm.push_back(cache.mamba(s).ssm.data());
  }
  return v;
}

}  // namespace tt
