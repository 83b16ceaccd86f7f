// The in-process engine: a ContextCore and a DenoiserCore in one loop. Runs a
// batch of requests to completion with one batched denoiser forward per
// refinement step across all active blocks and one batched context forward
// per round across all sequences that extend.
#pragma once

#include <memory>
#include <span>

#include "model/engine_types.hpp"
#include "model/model.hpp"

namespace tt {

class Engine {
public:
  explicit Engine(const Model& model);
  ~Engine();

  std::vector<GenerateResult> generate(std::span<const GenerateRequest> requests);
  GenerateResult generate(const GenerateRequest& request);
  ScoreResult score(std::span<const int32_t> prompt, std::span<const int32_t> continuation);

  const Model& model() const { return model_; }

private:
  struct Impl;
  const Model& model_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tt
