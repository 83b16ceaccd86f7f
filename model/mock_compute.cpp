// Mock compute: sleeping forwards and drawn commits.
#include "model/mock_compute.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <mutex>
#include <thread>

namespace tt {
namespace {

std::mutex g_mutex;
std::shared_ptr<const MockCompute> g_mock;

void hold_for(double seconds) {
  // sleep_for overshoots by tens of microseconds; the deadline keeps long runs unbiased.
  static thread_local auto debt = std::chrono::steady_clock::duration::zero();
  const auto start = std::chrono::steady_clock::now();
  const auto want = std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
  if (want > debt) std::this_thread::sleep_until(start + want - debt);
  debt = std::chrono::steady_clock::now() - start - want + debt;
  if (debt < std::chrono::steady_clock::duration::zero()) debt = std::chrono::steady_clock::duration::zero();
}

const capacity::CommitDist& nearest(const capacity::Profile& p, double gamma) {
  const capacity::CommitDist* best = &p.commits.front();
  for (const auto& c : p.commits)
    if (std::abs(c.gamma - gamma) < std::abs(best->gamma - gamma)) best = &c;
  return *best;
}

}  // namespace

void MockCompute::install(std::shared_ptr<const MockCompute> mock) {
  std::lock_guard<std::mutex> g(g_mutex);
  g_mock = std::move(mock);
}

std::shared_ptr<const MockCompute> MockCompute::installed() {
  std::lock_guard<std::mutex> g(g_mutex);
  return g_mock;
}

void MockCompute::context_forward(double tokens, double sequences, double context_tokens) const {
  hold_for(profile_.context.seconds(tokens, sequences, context_tokens));
}

void MockCompute::denoiser_forward(double blocks, double block_tokens, double context_tokens) const {
  hold_for(profile_.denoiser.seconds(block_tokens, blocks, context_tokens));
}

void MockCompute::extend(SequenceCache& cache, int rows, const ModelConfig& config) {
  const size_t width = static_cast<size_t>(config.num_key_value_heads) * static_cast<size_t>(config.head_dim);
  const size_t n = static_cast<size_t>(cache.length() + rows) * width;
  for (int s = 0; s < cache.attention_slots(); ++s) {
    cache.kv(s).k.resize(n, 0.0f);
    cache.kv(s).v.resize(n, 0.0f);
  }
  cache.set_length(cache.length() + rows);
}

void MockCompute::step_block(BlockState& block, const DiffusionParams& params, uint64_t sequence,
                             const ModelConfig& config) const {
  const int32_t mask = config.mask_token_id;
  const int n = block.masked(mask);
  if (n == 0) return;
  uint64_t key = sequence * 0x100000001b3ull ^ params.seed;
  capacity::Rng rng(capacity::splitmix64(key) ^ (static_cast<uint64_t>(block.block_index) << 24) ^
                    static_cast<uint64_t>(block.step));
  int k = capacity::draw_commit(nearest(profile_, params.gamma), n, block.step, params.steps, rng);
  const int32_t lo = std::max({config.eos_token_id, mask, config.bos_token_id, config.pad_token_id}) + 1;
  const int32_t base = std::max(lo, config.vocab_size / 2), span = std::max(1, config.vocab_size - base);
  for (size_t p = 0; p < block.tokens.size() && k > 0; ++p) {
    if (block.tokens[p] != mask) continue;
    block.tokens[p] = base + static_cast<int32_t>((block.block_index * 16 + static_cast<int>(p)) % span);
    --k;
  }
  ++block.step;
}

}  // namespace tt
