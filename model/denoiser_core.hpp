// The denoiser's pure core: step-level continuous batching. Jobs join at any
// time; each step() is one batched denoiser forward over every active job
// (each block with its own t); a job leaves as soon as it is done.
#pragma once

#include <memory>
#include <vector>

#include "model/block_job.hpp"
#include "model/denoiser_compute.hpp"
#include "model/model.hpp"

namespace tt {

class MockCompute;

class DenoiserCore {
public:
  // `compute`: the towers to step with (null: the CPU towers of `model`).
  explicit DenoiserCore(const Model& model, std::unique_ptr<DenoiserCompute> compute = nullptr);

  void add(BlockJob job);
  size_t active() const { return jobs_.size(); }
  // One batched forward over all active jobs; returns the jobs that finished.
  std::vector<JobResult> step();
  // Tokens each job of the last step()'s batch committed (one entry per job, so
  // its size is the batch size); for metrics.
  const std::vector<int>& last_committed() const { return committed_; }

private:
  const Model& model_;
  std::unique_ptr<DenoiserCompute> compute_;  // null in mock mode
  std::vector<BlockJob> jobs_;
  std::vector<JobResult> partial_;  // aligned with jobs_
  std::vector<int32_t> pred_;
  std::vector<float> conf_;
  std::vector<int> committed_;
  std::shared_ptr<const MockCompute> mock_;  // set: --compute mock (model/mock_compute.hpp)
};

}  // namespace tt
