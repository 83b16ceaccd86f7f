// The denoiser's pure core: step-level continuous batching. Jobs join at any
// time; each step() is one batched denoiser forward over every active job
// (each block with its own t); a job leaves as soon as it is done.
#pragma once

#include <memory>
#include <vector>

#include "model/block_job.hpp"
#include "model/model.hpp"
#include "model/time_conditioning.hpp"
#include "model/tower.hpp"

namespace tt {

class MockCompute;

class DenoiserCore {
public:
  explicit DenoiserCore(const Model& model);

  void add(BlockJob job);
  size_t active() const { return jobs_.size(); }
  // One batched forward over all active jobs; returns the jobs that finished.
  std::vector<JobResult> step();
  // Tokens each job of the last step()'s batch committed (one entry per job, so
  // its size is the batch size); for metrics.
  const std::vector<int>& last_committed() const { return committed_; }

private:
  const Model& model_;
  Tower tower_;
  ModulationCache modulation_;
  std::vector<BlockJob> jobs_;
  std::vector<JobResult> partial_;  // aligned with jobs_
  std::vector<float> hidden_, logits_;
  std::vector<int> rows_;
  std::vector<int> committed_;
  std::shared_ptr<const MockCompute> mock_;  // set: --compute mock (model/mock_compute.hpp)
};

}  // namespace tt
