// The real-size layer stack of the 30B TwoTower model, built in memory with
// random bf16 weights, and the benchmark that times AR- and diffusion-shaped
// forwards over it (`twotower bench`, section "layer_stack").
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/config.hpp"
#include "model/safetensors.hpp"
#include "model/weights.hpp"

namespace tt::bench {

// The 30B config's layer shapes (hidden 2688; Mamba-2 64 x 64, 8 groups,
// state 128, conv 4; attention 32 q / 2 kv heads x 128; MoE 128 experts
// top-6, width 1856, shared 3712, scaling 2.5) with the given pattern and vocab.
ModelConfig real_size_config(const std::string& pattern, int vocab);

// A tower's weights held in memory: random bf16 linear layers with values
// ~N(0, 1/fan_in) (deterministic in `seed`), unit norms, a bf16 embedding
// table, no LM head (the benchmark never computes logits).
struct SyntheticTower {
  ModelConfig config;
  std::vector<uint16_t> embed_bf16;  // [vocab, H]
  TensorView embed_view;             // what weights.embed points at
  TowerWeights weights;
};

// Not movable once built (weights.embed points into it), hence the pointer.
std::unique_ptr<SyntheticTower> build_synthetic_tower(const ModelConfig& config, uint64_t seed);

// Packed weight bytes of one layer's linear layers (all experts for MoE) plus
// its fp32 router; what a forward touches at most.
size_t layer_weight_bytes(const LayerWeights& layer);

struct LayerStackOptions {
  std::vector<int> batches{1, 8, 32};
  int context_tokens = 2048;
  int block_size = 16;                         // diffusion block (and context extension per block)
  std::vector<double> tokens_per_forward{1.0, 2.0, 3.5, 7.4};  // k, committed per denoiser forward
  double seconds_per_measurement = 2.0;  // per shape: timed rounds stop after 3x this (min 2, or 1 if slow)
  int max_reps = 20;                     // rounds at most
  uint64_t seed = 20240611;
};

// Builds the "M*E" stack, fills a context cache by prefill and times
// context extension (1 and block_size tokens per sequence) and a denoiser
// step over [context K/V ; block] at every batch size. Progress goes to stderr.
nlohmann::json run_layer_stack_bench(const LayerStackOptions& options);

}  // namespace tt::bench
