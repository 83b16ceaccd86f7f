// The CPU ContextCompute: model/tower.cpp on the host caches.
#include "model/context_compute.hpp"

#include "model/decoding.hpp"
#include "model/tower.hpp"

namespace tt {
namespace {

class CpuContextCompute : public ContextCompute {
public:
  CpuContextCompute(const ModelConfig& config, const ModelWeights& weights)
      : config_(config), tower_(config, weights.context.value()) {}

  void extend(std::span<const Item> items, std::vector<int32_t>& picked) override {
    std::vector<TowerItem> towers;
    std::vector<int> rows;
    int r = 0;
    for (const auto& it : items) {
      towers.push_back(TowerItem{it.tokens, it.cache, nullptr, nullptr, true});
      r += static_cast<int>(it.tokens.size());
      if (it.pick) rows.push_back(r - 1);
    }
    tower_.forward(towers, hidden_);
    picked.clear();
    if (rows.empty()) return;
    tower_.logits(hidden_, rows, logits_);
    const size_t V = config_.vocab_size;
    size_t k = 0;
    for (const auto& it : items)
      if (it.pick) picked.push_back(choose_token({&logits_[k++ * V], V}, it.temperature, it.seed, it.stream));
  }

  void score_logits(std::span<const int32_t> tokens, std::span<const int> rows, std::vector<float>& logits) override {
    SequenceCache cache(config_);
    TowerItem item{tokens, &cache, nullptr, nullptr, true};
    tower_.forward({&item, 1}, hidden_);
    tower_.logits(hidden_, rows, logits);
  }

private:
  const ModelConfig& config_;
  Tower tower_;
  std::vector<float> hidden_, logits_;
};

ContextComputeFactory& factory_slot() {
  static ContextComputeFactory f;
  return f;
}

}  // namespace

std::unique_ptr<ContextCompute> cpu_context_compute(const ModelConfig& config, const ModelWeights& weights) {
  return std::make_unique<CpuContextCompute>(config, weights);
}

void install_context_compute(ContextComputeFactory factory) { factory_slot() = std::move(factory); }
const ContextComputeFactory& installed_context_compute() { return factory_slot(); }

}  // namespace tt
