// The tower a ContextCore extends with: one batched causal forward over the
// sequences that extend, leaving each host cache extended (the cache is what
// block jobs and cache transports read), and the AR token choices. The CPU
// implementation runs model/tower.cpp on the host caches; a GPU one
// (model/cuda/gpu_context.hpp) keeps each sequence's cache on the device and
// copies back only what changed: the new K/V rows and the Mamba state.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "model/cache.hpp"
#include "model/config.hpp"
#include "model/weights.hpp"

namespace tt {

class ContextCompute {
public:
  virtual ~ContextCompute() = default;

  struct Item {
    uint64_t sequence_id = 0;
    std::span<const int32_t> tokens;
    SequenceCache* cache = nullptr;  // host cache, extended by the call
    bool pick = false;               // choose the next token from the last row (raw logits)
    float temperature = 0;
    uint64_t seed = 0;
    uint64_t stream = 0;
    // The host cache must hold the new K/V rows and Mamba state afterwards (a block job or a
    // transport will read it). False for AR sequences, which never leave the context side: a
    // device implementation then only advances the host cache's length.
    bool host_copy = true;
  };
  // picked: one token per item with pick, in item order.
  virtual void extend(std::span<const Item> items, std::vector<int32_t>& picked) = 0;
  // The sequence is gone (device implementations free its cache).
  virtual void forget(uint64_t sequence_id) { (void)sequence_id; }
  // Logits [rows.size(), vocab] of the given rows of `tokens` run from an empty cache (scoring).
  virtual void score_logits(std::span<const int32_t> tokens, std::span<const int> rows, std::vector<float>& logits) = 0;
};

std::unique_ptr<ContextCompute> cpu_context_compute(const ModelConfig& config, const ModelWeights& weights);

using ContextComputeFactory = std::function<std::unique_ptr<ContextCompute>()>;
// Installed by `twotower context --device N`: every ContextCore made afterwards
// (not in mock mode) extends with what it returns.
void install_context_compute(ContextComputeFactory factory);
const ContextComputeFactory& installed_context_compute();

}  // namespace tt
