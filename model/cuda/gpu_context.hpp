// A ContextCore's tower on a CUDA device (`twotower context --device N`):
// each sequence's cache lives on the device; after every forward the new K/V
// rows and the Mamba state are copied back into the host cache that block jobs
// and cache transports read (GPU-native handles, CUDA IPC / NCCL, would skip
// that copy; see README). AR tokens are chosen on the device.
#pragma once

#include <memory>

#include "model/context_compute.hpp"
#include "model/safetensors.hpp"

namespace tt::gpu {

// Throws tt::Error when the device does not exist or the checkpoint is bad.
std::unique_ptr<ContextCompute> context_compute(const ModelConfig& config, const Checkpoint& checkpoint, int device);

}  // namespace tt::gpu
