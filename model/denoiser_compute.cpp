// The CPU DenoiserCompute: model/tower.cpp plus the token choice of model/decoding.
#include "model/denoiser_compute.hpp"

#include <limits>

#include "model/decoding.hpp"
#include "model/error.hpp"
#include "model/time_conditioning.hpp"
#include "model/tower.hpp"

namespace tt {
namespace {

class CpuDenoiserCompute : public DenoiserCompute {
public:
  CpuDenoiserCompute(const ModelConfig& config, const ModelWeights& weights)
      : config_(config), tower_(config, weights.denoiser.value()), modulation_(config, weights.time.value()) {}

  void admit(const BlockJob& job) override {
    if (job.seed.device >= 0) throw Error("a CPU denoiser got a cache seed in GPU memory (a cuda_ipc handle)");
  }

  void step(std::span<const BlockJob> jobs, std::vector<int32_t>& pred, std::vector<float>& conf) override {
    const int32_t mask = config_.mask_token_id;
    const size_t V = config_.vocab_size;
    std::vector<TowerItem> items;
    items.reserve(jobs.size());
    for (const BlockJob& j : jobs) {
      const bool diffusion = j.kind == JobKind::diffusion_block;
      const float* mod = diffusion ? modulation_.get(j.block.t(mask)).data() : nullptr;
      items.push_back(TowerItem{j.block.tokens, nullptr, &j.seed, mod, !diffusion});
    }
    tower_.forward(items, hidden_);
    rows_.resize(hidden_.size() / config_.hidden_size);
    for (size_t i = 0; i < rows_.size(); ++i) rows_[i] = static_cast<int>(i);
    tower_.logits(hidden_, rows_, logits_);
    pred.assign(rows_.size(), mask);
    conf.assign(rows_.size(), std::numeric_limits<float>::infinity());
    size_t r = 0;
    for (const BlockJob& j : jobs) {
      const size_t n = j.block.tokens.size();
      if (j.kind == JobKind::diffusion_block) {
        pick_block({&logits_[r * V], n * V}, static_cast<int>(V), j.block, j.params, mask, {&pred[r], n}, {&conf[r], n});
      } else {
        pred[r + n - 1] = choose_token({&logits_[(r + n - 1) * V], V}, j.params.temperature, j.params.seed,
                                       ar_stream(j.token_index));
      }
      r += n;
    }
  }

private:
  const ModelConfig& config_;
  Tower tower_;
  ModulationCache modulation_;
  std::vector<float> hidden_, logits_;
  std::vector<int> rows_;
};

}  // namespace

namespace {
DenoiserComputeFactory& factory_slot() {
  static DenoiserComputeFactory f;
  return f;
}
}  // namespace

void install_denoiser_compute(DenoiserComputeFactory factory) { factory_slot() = std::move(factory); }
const DenoiserComputeFactory& installed_denoiser_compute() { return factory_slot(); }

std::unique_ptr<DenoiserCompute> cpu_denoiser_compute(const ModelConfig& config, const ModelWeights& weights) {
  return std::make_unique<CpuDenoiserCompute>(config, weights);
}

}  // namespace tt
