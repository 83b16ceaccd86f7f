// The 30B model's real-size M, * and E layers composed from the CUDA kernels
// (random weights), timed as a denoiser step and as a context extension.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

namespace tt::cuda::bench {

// For each batch size: one M, one * and one E layer over batch x 16 rows (each
// sequence seeded from / attending to `context` cached tokens), extrapolated
// to the 52-layer tower (23 M + 6 * + 23 E). Same layout as the PyTorch-eager
// reference's "layer_stack" (tools/bench/torch_eager_ref.py).
nlohmann::json run_layer_stack(int context, const std::vector<int>& batches);

}  // namespace tt::cuda::bench
