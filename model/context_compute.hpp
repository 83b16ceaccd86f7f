// The tower a ContextCore extends with: one batched causal forward over the
// sequences that extend, and the AR token choices. The CPU implementation runs
// model/tower.cpp on the host caches; a GPU one (model/cuda/gpu_context.hpp)
// keeps each sequence's cache on the device, advances only the host cache's
// length, and copies the rest back when asked (sync_host: a host transport
// will read it), or exports the device cache to another process (CUDA IPC).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "model/cache.hpp"
#include "model/config.hpp"
#include "model/device_region.hpp"
#include "model/weights.hpp"

namespace tt {

class ContextCompute {
public:
  virtual ~ContextCompute() = default;

  struct Item {
    uint64_t sequence_id = 0;
    std::span<const int32_t> tokens;
    SequenceCache* cache = nullptr;  // host cache: its length always advances, its contents see sync_host
    bool pick = false;               // choose the next token from the last row (raw logits)
    float temperature = 0;
    uint64_t seed = 0;
    uint64_t stream = 0;
  };
  // picked: one token per item with pick, in item order.
  virtual void extend(std::span<const Item> items, std::vector<int32_t>& picked) = 0;
  // The sequence is gone (device implementations free its cache).
  virtual void forget(uint64_t sequence_id) { (void)sequence_id; }
  // Brings `host` (the sequence's host cache) up to date: the K/V rows it lacks and the
  // Mamba state (device implementations; the CPU one extends the host cache itself).
  virtual void sync_host(uint64_t sequence_id, SequenceCache& host) { (void)sequence_id, (void)host; }
  // The GPU the caches live on, -1 for host memory.
  virtual int device() const { return -1; }
  // Device memory the caches hold (0 for host memory: the host caches are counted there).
  virtual size_t device_cache_bytes() const { return 0; }
  // The sequence's device cache as another process on the node maps it; false when the
  // caches are not on a device or the sequence has none.
  virtual bool export_region(uint64_t sequence_id, DeviceRegion& out) { return (void)sequence_id, (void)out, false; }
  // Sends the sequence's K/V rows [from, length) and its Mamba state over `channel` (NCCL,
  // the spans DeviceCacheReader::receive takes); false when its cache is not on a device.
  virtual bool send_rows(uint64_t sequence_id, int from, CacheChannel& channel) {
    return (void)sequence_id, (void)from, (void)channel, false;
  }
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
