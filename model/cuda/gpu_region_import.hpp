// The lessee side of CUDA IPC cache handles (`twotower denoiser --device N`):
// maps each sequence's exported cache allocation once, while the owner keeps
// it (a new allocation after the owner's cache grew is mapped again, the old
// mapping closed).
#pragma once

#include <memory>

#include "model/device_region.hpp"

namespace tt::gpu {

std::unique_ptr<RegionImporter> region_importer(const ModelConfig& config, int device);

}  // namespace tt::gpu
