// Step-level continuous batching of denoiser jobs.
#include "model/denoiser_core.hpp"

#include "model/error.hpp"
#include "model/mock_compute.hpp"

namespace tt {

DenoiserCore::DenoiserCore(const Model& model, std::unique_ptr<DenoiserCompute> compute)
    : model_(model), compute_(std::move(compute)), mock_(MockCompute::installed()) {
  if (!compute_ && !mock_) {
    const auto& installed = installed_denoiser_compute();
    compute_ = installed ? installed() : cpu_denoiser_compute(model.config, model.weights);
  }
}

void DenoiserCore::add(BlockJob job) {
  JobResult r;
  r.job_id = job.job_id;
  r.sequence_id = job.sequence_id;
  r.block_index = job.block.block_index;
  if (compute_) compute_->admit(job);
  jobs_.push_back(std::move(job));
  partial_.push_back(std::move(r));
}

std::vector<JobResult> DenoiserCore::step() {
  std::vector<JobResult> done;
  committed_.clear();
  if (jobs_.empty()) return done;
  const ModelConfig& c = model_.config;
  const int32_t mask = c.mask_token_id;
  if (mock_) {  // capacity experiments: the profile's time, commits drawn per gamma
    double tokens = 0, held = 0;
    for (const BlockJob& j : jobs_) tokens += static_cast<double>(j.block.tokens.size()), held += j.seed.length;
    mock_->denoiser_forward(static_cast<double>(jobs_.size()), tokens, held);
  } else {
    compute_->step(jobs_, pred_, conf_);
  }

  std::vector<BlockJob> still;
  std::vector<JobResult> still_partial;
  size_t r = 0;
  for (size_t i = 0; i < jobs_.size(); ++i) {
    BlockJob& j = jobs_[i];
    JobResult& res = partial_[i];
    res.steps++;
    const size_t n = j.block.tokens.size();
    bool finished = false;
    switch (j.kind) {
      case JobKind::diffusion_block: {
        const int masked_before = j.block.masked(mask);
        if (mock_) mock_->step_block(j.block, j.params, j.sequence_id, c);
        else commit_confident({&pred_[r], n}, {&conf_[r], n}, j.block, j.params, mask);
        if (j.trace) res.trace.push_back(j.block.tokens);
        const int masked_after = j.block.masked(mask);
        committed_.push_back(masked_before - masked_after);
        finished = masked_after == 0;
        if (finished) res.tokens = j.block.tokens;
        break;
      }
      case JobKind::next_token:
        res.tokens = {mock_ ? c.eos_token_id + 2 : pred_[r + n - 1]};
        committed_.push_back(1);
        finished = true;
        break;
    }
    r += n;
    if (finished) {
      if (compute_) compute_->retire(j.job_id);
      done.push_back(std::move(res));
    } else {
      still.push_back(std::move(j));
      still_partial.push_back(std::move(res));
    }
  }
  jobs_ = std::move(still);
  partial_ = std::move(still_partial);
  return done;
}

}  // namespace tt
