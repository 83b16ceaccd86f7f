// Mock compute for capacity experiments (`--compute mock --profile FILE`):
// context and denoiser cores skip the tower math but take the time the
// hardware profile gives for the batch, and each diffusion block commits the
// number of tokens per step drawn from the profile's distribution at its gamma.
// The caches still grow (zero K/V rows), so transports move real handle sizes.
// Installed once per process before the cores are built; cores pick it up.
#pragma once

#include <memory>
#include <span>

#include "model/cache.hpp"
#include "model/config.hpp"
#include "model/decoding.hpp"
#include "tools/sim/profile.hpp"

namespace tt {

class MockCompute {
public:
  explicit MockCompute(capacity::Profile profile) : profile_(std::move(profile)) {}

  static void install(std::shared_ptr<const MockCompute> mock);
  static std::shared_ptr<const MockCompute> installed();

  const capacity::Profile& profile() const { return profile_; }
  // Blocks the caller for a context forward of `tokens` new rows over `sequences`
  // sequences whose caches already hold `context_tokens`.
  void context_forward(double tokens, double sequences, double context_tokens) const;
  void denoiser_forward(double blocks, double block_tokens, double context_tokens) const;
  // Appends `rows` zero K/V rows to every attention slot of `cache`.
  static void extend(SequenceCache& cache, int rows, const ModelConfig& config);
  // One refinement step of `block` without logits: commits the drawn number of
  // masked positions (left to right) with filler ids from the upper half of the
  // vocabulary (merged tokens that decode to text; never EOS or MASK). The draw
  // is keyed by (sequence, seed, block, step): independent across sequences,
  // never dependent on batch composition.
  void step_block(BlockState& block, const DiffusionParams& params, uint64_t sequence,
                  const ModelConfig& config) const;

private:
  capacity::Profile profile_;
};

}  // namespace tt
