// CacheChannels over NCCL (model/device_region.hpp): one two-rank communicator
// per context-denoiser pair on different nodes, with its own CUDA stream.
// Built only where nccl.h was found (TT_HAVE_NCCL); NCCL itself is loaded at
// run time, so channel_factory() is empty when the library is missing.
#pragma once

#include <chrono>
#include <string>

#include "model/device_region.hpp"

namespace tt::gpu {

// A factory joining channels on `device` (each join and transfer bounded by
// `timeout`), or an empty one with `why` when NCCL is not available here.
ChannelFactory channel_factory(int device, std::chrono::milliseconds timeout, std::string& why);

}  // namespace tt::gpu
