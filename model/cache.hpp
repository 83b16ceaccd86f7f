// Per-sequence context cache: attention K/V (append-only) and Mamba conv/SSM
// state, plus the read-only view a denoiser is seeded from at a block boundary.
#pragma once

#include <cstddef>
#include <vector>

#include "model/config.hpp"

namespace tt {

// Index of each layer among the layers of its kind (attention slot, Mamba slot).
struct LayerSlots {
  std::vector<int> slot;  // per layer
  int attention = 0;      // number of attention layers
  int mamba = 0;          // number of Mamba layers
  explicit LayerSlots(const ModelConfig& config);
};

struct KvCache {
  std::vector<float> k, v;  // [length, kv_heads * head_dim]
};

struct MambaState {
  std::vector<float> conv;  // [conv_kernel - 1, conv_dim], oldest first (raw pre-conv xBC)
  std::vector<float> ssm;   // [heads, head_dim, state], fp32
};

class SequenceCache {
public:
  explicit SequenceCache(const ModelConfig& config);

  int length() const { return length_; }
  void set_length(int n) { length_ = n; }
  KvCache& kv(int slot) { return kv_[slot]; }
  const KvCache& kv(int slot) const { return kv_[slot]; }
  MambaState& mamba(int slot) { return mamba_[slot]; }
  const MambaState& mamba(int slot) const { return mamba_[slot]; }
  int attention_slots() const { return static_cast<int>(kv_.size()); }
  int mamba_slots() const { return static_cast<int>(mamba_.size()); }
  size_t bytes() const;

private:
  int length_ = 0;
  std::vector<KvCache> kv_;
  std::vector<MambaState> mamba_;
};

// What a denoiser reads: the context cache at a block boundary. Pointers stay
// valid while the owning SequenceCache is not extended.
struct CacheView {
  int length = 0;
  std::vector<const float*> k, v;       // per attention slot, `length` rows
  std::vector<const float*> conv, ssm;  // per Mamba slot
  int device = -1;                      // >= 0: device memory on that GPU (model/device_region.hpp)
};

CacheView view_of(const SequenceCache& cache);

}  // namespace tt
