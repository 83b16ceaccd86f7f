// The lessee side of GPU cache handles (`twotower denoiser --device N`): CUDA
// IPC maps each sequence's exported cache allocation once, while the owner
// keeps it (a new allocation after the owner's cache grew is mapped again, the
// old mapping closed); NCCL fills a per-sequence device mirror with the rows it
// lacks and the Mamba state.
#pragma once

#include <memory>

#include "model/device_region.hpp"

namespace tt::gpu {

std::unique_ptr<DeviceCacheReader> device_cache_reader(const ModelConfig& config, int device);

// The owner's side of a receive(): the spans of rows [from, to) of every attention
// slot (K rows, then V rows) and of the whole Mamba state of a cache with this
// layout, as gpu::SequenceCache holds it (gpu_cache.hpp). Throws tt::Error when
// [from, to) is not within the cache's capacity.
class SequenceCache;
std::vector<DeviceSpan> delta_spans(const SequenceCache& cache, int from, int to);

}  // namespace tt::gpu
