// The towers a DenoiserCore steps with: one batched forward over its active
// jobs, returning per position only the (token, confidence) pair the commit
// rule needs. The CPU implementation runs model/tower.cpp; a GPU one
// (model/cuda/gpu_denoiser.hpp) copies each job's seed to the device once, on
// admission, and picks tokens on the device.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "model/block_job.hpp"
#include "model/config.hpp"
#include "model/weights.hpp"

namespace tt {

class DenoiserCompute {
public:
  virtual ~DenoiserCompute() = default;
  // A job joins / leaves the batch (device implementations hold its seed meanwhile).
  virtual void admit(const BlockJob& job) { (void)job; }
  virtual void retire(uint64_t job_id) { (void)job_id; }
  // One forward over `jobs`; pred/conf get one entry per row (the jobs' tokens
  // concatenated). Diffusion rows: the denoiser's choice with the mask id
  // excluded (stream diffusion_stream(block, step, position)); entries at
  // committed positions are unspecified. next_token jobs: their last row's
  // choice from the raw logits (stream ar_stream(token_index)).
  virtual void step(std::span<const BlockJob> jobs, std::vector<int32_t>& pred, std::vector<float>& conf) = 0;
};

// The CPU towers (the reference every other implementation is checked against).
std::unique_ptr<DenoiserCompute> cpu_denoiser_compute(const ModelConfig& config, const ModelWeights& weights);

using DenoiserComputeFactory = std::function<std::unique_ptr<DenoiserCompute>()>;
// Installed by `twotower denoiser --device N`: every DenoiserCore made without an
// explicit compute (and not in mock mode) then steps with what it returns.
void install_denoiser_compute(DenoiserComputeFactory factory);
const DenoiserComputeFactory& installed_denoiser_compute();

}  // namespace tt
