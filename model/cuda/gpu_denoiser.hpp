// A DenoiserCore's towers on a CUDA device (`twotower denoiser --device N`):
// each admitted job's seed (host K/V rows and Mamba state, as received from a
// context actor) is copied to the device once; every step is one batched
// denoiser forward, and only (token, confidence) pairs come back.
#pragma once

#include <memory>

#include "model/cuda/gpu_cache.hpp"
#include "model/cuda/gpu_tower.hpp"
#include "model/denoiser_compute.hpp"
#include "model/safetensors.hpp"

namespace tt::gpu {

// One denoiser forward over `jobs` seeded from device caches (seeds[i] for
// jobs[i]; the jobs' host seed views are not read) and the (token, confidence)
// pairs DenoiserCompute::step defines, picked on the device.
void denoiser_step(Tower& tower, Modulation& modulation, const ModelConfig& config, std::span<const BlockJob> jobs,
                   std::span<const CacheView> seeds, std::vector<int32_t>& pred, std::vector<float>& conf);

// Throws tt::Error when the device does not exist or the checkpoint is bad.
std::unique_ptr<DenoiserCompute> denoiser_compute(const ModelConfig& config, const Checkpoint& checkpoint, int device);

}  // namespace tt::gpu
