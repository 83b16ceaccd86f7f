// A DenoiserCore's towers on a CUDA device (`twotower denoiser --device N`):
// each admitted job's seed (host K/V rows and Mamba state, as received from a
// context actor) is copied to the device once; every step is one batched
// denoiser forward, and only (token, confidence) pairs come back.
#pragma once

#include <memory>

#include "model/denoiser_compute.hpp"
#include "model/safetensors.hpp"

namespace tt::gpu {

// Throws tt::Error when the device does not exist or the checkpoint is bad.
std::unique_ptr<DenoiserCompute> denoiser_compute(const ModelConfig& config, const Checkpoint& checkpoint, int device);

}  // namespace tt::gpu
