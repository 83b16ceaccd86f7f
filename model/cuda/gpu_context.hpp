// A ContextCore's tower on a CUDA device (`twotower context --device N`):
// each sequence's cache lives on the device, in one allocation that a denoiser
// process on the same node maps (CUDA IPC, export_region). A host transport
// gets the new K/V rows and the Mamba state copied back first (sync_host); AR
// sequences never leave the device. AR tokens are chosen on the device.
#pragma once

#include <memory>

#include "model/context_compute.hpp"
#include "model/safetensors.hpp"

namespace tt::gpu {

// Throws tt::Error when the device does not exist or the checkpoint is bad.
std::unique_ptr<ContextCompute> context_compute(const ModelConfig& config, const Checkpoint& checkpoint, int device);

}  // namespace tt::gpu
