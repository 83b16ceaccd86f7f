// GPU memory plan from config.json alone: weight bytes per tower and layer kind,
// cache bytes per token / per sequence, workspaces, and how many sequences of a
// given length fit on the GPUs beside the weights (`twotower plan-memory`).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/config.hpp"

namespace tt {

struct PlanOptions {
  int gpus = 2;                 // 1: both towers on one GPU; >= 2: context on GPU 0, a denoiser on each other
  double gpu_memory_gb = 80.0;  // per GPU, decimal GB (1e9 bytes)
  int seq_len = 4096;           // tokens per sequence (prompt + generated)
  int block_size = 16;          // denoiser block (S)
  int prefill_chunk = 2048;     // tokens per prefill chunk on the context GPU
  int mamba_state_buffers = 2;  // context keeps Mamba state double-buffered (leased snapshots)
  double reserve_gb = 1.5;      // per GPU: CUDA context, cuBLAS workspace, allocator slack
};

// Weight bytes of one tower, as stored on the GPU: bf16, except the MoE router
// (gate.weight, e_score_correction_bias) which stays fp32 as in the reference.
struct TowerBytes {
  int64_t params = 0;
  int64_t embedding = 0, head = 0, norm_f = 0;
  int64_t mamba = 0, attention = 0, moe = 0, mlp = 0;  // all layers of that kind
  int64_t time_conditioning = 0;                       // denoiser only
  int64_t total = 0;
};

struct CacheBytes {
  int64_t kv_per_token = 0;       // bf16 K and V, attention layers only
  int64_t conv_per_sequence = 0;  // (conv_kernel - 1) raw xBC columns, bf16, Mamba layers
  int64_t ssm_per_sequence = 0;   // [heads, head_dim, state] fp32, Mamba layers
  int64_t activation_row = 0;     // transient bytes per token row in a forward (largest layer)
  int64_t modulation_per_block = 0;  // adaLN (shift, scale, gate) for every layer, fp32
};

struct GpuPlan {
  int index = 0;
  std::string role;  // "context", "denoiser", "context+denoiser", "ar"
  int64_t capacity = 0, weights = 0, reserve = 0, workspace = 0;
  int64_t per_sequence = 0;  // cache bytes one more sequence costs on this GPU
  int64_t free_for_cache = 0;
  int64_t sequences = 0;     // sequences of seq_len that fit
  bool fits = false;         // weights + reserve + workspace fit and at least one sequence does
};

struct LengthRow {
  int seq_len = 0;
  int64_t diffusion_sequences = 0;  // concurrent diffusion sequences on the planned GPUs
  int64_t ar_sequences = 0;         // AR-only serving on one GPU
};

struct MemoryPlan {
  PlanOptions options;
  TowerBytes context, denoiser;
  CacheBytes cache;
  std::vector<GpuPlan> gpus;   // the diffusion placement
  GpuPlan ar_only;             // the context tower alone on one GPU
  int64_t diffusion_sequences = 0;
  std::vector<LengthRow> by_length;
};

TowerBytes tower_bytes(const ModelConfig& c, bool denoiser);
CacheBytes cache_bytes(const ModelConfig& c, const PlanOptions& o);

// Throws tt::Error on options that make no sense (gpus < 1, seq_len < 1, ...).
MemoryPlan plan_memory(const ModelConfig& c, const PlanOptions& o);

nlohmann::json to_json(const MemoryPlan& p);
std::string to_table(const MemoryPlan& p);

}  // namespace tt
