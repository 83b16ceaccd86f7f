// The in-process engine: drives a ContextCore and a DenoiserCore in one loop.
#include "model/engine.hpp"

#include <optional>

#include "model/context_core.hpp"
#include "model/denoiser_core.hpp"
#include "model/error.hpp"

namespace tt {

struct Engine::Impl {
  explicit Impl(const Model& m) : context(m) {
    if (m.weights.denoiser) denoiser.emplace(m);
  }
  ContextCore context;
  std::optional<DenoiserCore> denoiser;
};

Engine::Engine(const Model& model) : model_(model) {
  if (!model.weights.context) throw Error(model.dir + ": engine needs the context tower");
  impl_ = std::make_unique<Impl>(model);
}

Engine::~Engine() = default;

std::vector<GenerateResult> Engine::generate(std::span<const GenerateRequest> requests) {
  ContextCore& ctx = impl_->context;
  std::vector<uint64_t> ids;
  try {
    for (const auto& r : requests) ids.push_back(ctx.submit(r));
  } catch (...) {
    for (uint64_t id : ids) ctx.cancel(id);
    throw;
  }
  size_t unfinished = ids.size();
  auto absorb = [&](const ContextEvents& ev) {
    unfinished -= ev.finished.size();
    for (const BlockJob& job : ev.jobs) impl_->denoiser->add(job);
  };
  while (unfinished > 0) {
    const bool denoising = impl_->denoiser && impl_->denoiser->active() > 0;
    if (!ctx.has_work() && !denoising) throw Error("internal: engine stalled with unfinished sequences");
    if (ctx.has_work()) absorb(ctx.step());
    if (impl_->denoiser && impl_->denoiser->active() > 0)
      for (const JobResult& r : impl_->denoiser->step()) absorb(ctx.on_result(r));
  }
  std::vector<GenerateResult> results;
  results.reserve(ids.size());
  for (uint64_t id : ids) {
    results.push_back(ctx.result(id));
    ctx.release(id);
  }
  return results;
}

GenerateResult Engine::generate(const GenerateRequest& request) {
  return std::move(generate(std::span<const GenerateRequest>(&request, 1)).front());
}

ScoreResult Engine::score(std::span<const int32_t> prompt, std::span<const int32_t> continuation) {
  return impl_->context.score(prompt, continuation);
}

}  // namespace tt
