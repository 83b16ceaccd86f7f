// `twotower bench`: AR vs diffusion throughput on a model directory, the GEMM
// micro-benchmark and the real-size layer stack, as one JSON object.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tt {
struct Model;
}

namespace tt::bench {

struct BenchOptions {
  std::string model_dir;
  bool quick = false;
  std::vector<int> batches{1, 8, 32};  // both the model and the layer-stack sections
  int max_tokens = 64;
  float gamma = 0.8f;
  int block_size = 16;
  int steps = 16;
  int context_tokens = 2048;        // layer stack: context prefilled before timing
  double gemm_seconds_per_case = 0.5;
  double stack_seconds_per_measurement = 6.0;  // per shape and batch (LayerStackOptions)
};

// One prompt per sequence, the same every run: varied tokenized texts, or
// pseudo-random ids when the model has no usable tokenizer.
std::vector<std::vector<int32_t>> make_prompts(const Model& model, int count);

// "threads", "hardware_concurrency", "cpu_model", "memory_bytes", "gemm_isa".
nlohmann::json machine_info();

// For each batch size: AR (greedy) and diffusion on the same varied prompts,
// each one Engine::generate call over the whole batch. Throws tt::Error when
// the model cannot be loaded.
nlohmann::json run_model_bench(const BenchOptions& options);

// All sections: "machine", "model", "gemm", "layer_stack" (progress on stderr).
nlohmann::json run_bench(const BenchOptions& options);

}  // namespace tt::bench
