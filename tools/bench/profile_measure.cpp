// Times ContextCore / DenoiserCore steps at several batch shapes and counts
// per-step commits in traced diffusion runs.
#include "tools/bench/profile_measure.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

#include "model/context_core.hpp"
#include "model/denoiser_core.hpp"
#include "model/engine.hpp"

namespace tt::bench {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<int32_t> ids(const ModelConfig& c, int n, int salt) {
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<size_t>(i)] = 4 + (i * 131 + salt * 977) % (c.vocab_size - 4);
  return v;
}

// Median seconds of a context forward prefilling `batch` prompts of `len` tokens.
double time_context(const Model& m, int batch, int len, double budget) {
  std::vector<double> times;
  const auto until = Clock::now() + std::chrono::duration<double>(budget);
  do {
    ContextCore core(m);
    std::vector<uint64_t> seqs;
    for (int b = 0; b < batch; ++b) {
      GenerateRequest r;
      r.prompt = ids(m.config, len, b);
      r.max_tokens = 16;
      seqs.push_back(core.submit(r));
    }
    const auto t0 = Clock::now();
    core.step();
    times.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    for (uint64_t s : seqs) core.cancel(s);
  } while (Clock::now() < until && times.size() < 50);
  std::nth_element(times.begin(), times.begin() + static_cast<long>(times.size() / 2), times.end());
  return times[times.size() / 2];
}

// Median seconds of one denoiser step over `batch` fresh blocks whose context holds `len` tokens.
double time_denoiser(const Model& m, int batch, int len, double budget) {
  ContextCore core(m);
  std::vector<BlockJob> jobs;
  for (int b = 0; b < batch; ++b) {
    GenerateRequest r;
    r.prompt = ids(m.config, len, b);
    r.max_tokens = 64;  // only the first step is timed
    r.diffusion.gamma = 1.0f;  // commit one token a step: the block stays in the batch
    core.submit(r);
  }
  for (auto& j : core.step().jobs) jobs.push_back(std::move(j));
  std::vector<double> times;
  const auto until = Clock::now() + std::chrono::duration<double>(budget);
  do {
    DenoiserCore d(m);
    for (const auto& j : jobs) d.add(j);
    const auto t0 = Clock::now();
    d.step();
    times.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  } while (Clock::now() < until && times.size() < 50);
  std::nth_element(times.begin(), times.begin() + static_cast<long>(times.size() / 2), times.end());
  return times[times.size() / 2];
}

}  // namespace

nlohmann::json measure_profile(const Model& m, const ProfileOptions& o) {
  const ModelConfig& c = m.config;
  const double b = o.seconds_per_point;
  nlohmann::json ctx_table = nlohmann::json::array(), den_table = nlohmann::json::array();
  // Context: one sequence, growing prompt (tokens); 16 sequences of 16 vs one of 256 (per sequence).
  for (int len : {1, 16, 64, 256, 1024}) ctx_table.push_back({len, time_context(m, 1, len, b)});
  const double one256 = time_context(m, 1, 256, b), many16 = time_context(m, 16, 16, b);
  const double ctx_per_seq = std::max(0.0, (many16 - one256) / 15);
  // Denoiser: batch of blocks over a 16-token context; then a 512-token context (attention term).
  for (int batch : {1, 2, 4, 8, 16, 32}) den_table.push_back({16 * batch, time_denoiser(m, batch, 16, b)});
  const double short_ctx = time_denoiser(m, 8, 16, b), long_ctx = time_denoiser(m, 8, 512, b);
  const double den_per_ctx_token = std::max(0.0, (long_ctx - short_ctx) / (8.0 * (512 - 16)));

  // A busy machine only ever makes a point slower: cost(n) = min over m >= n of the measured cost(m).
  for (auto* t : {&ctx_table, &den_table})
    for (size_t i = t->size() - 1; i-- > 0;)
      (*t)[i][1] = std::min((*t)[i][1].get<double>(), (*t)[i + 1][1].get<double>());
  // Commit histograms: traced diffusion on a fixed set of prompts.
  nlohmann::json commits = nlohmann::json::object(), means = nlohmann::json::object();
  Engine engine(m);
  for (float g : o.gammas) {
    std::vector<GenerateRequest> reqs;
    for (int p = 0; p < 8; ++p) {
      GenerateRequest r;
      r.prompt = ids(c, 24, 100 + p);
      if (m.tokenizer) {
        static const char* kPrompts[] = {"Elizabeth said to her sister,", "It was a bright cold day in April,",
                                         "The old man walked slowly down the road", "\"I cannot tell you,\" said he,",
                                         "In the morning the whole house was", "She had never seen the sea before",
                                         "Mr. Darcy looked at her and", "The letter arrived on a Tuesday,"};
        r.prompt = m.tokenizer->encode(kPrompts[p]);
      }
      r.max_tokens = o.commit_tokens;
      r.diffusion.gamma = g;
      r.trace = true;
      reqs.push_back(std::move(r));
    }
    std::vector<double> hist(static_cast<size_t>(16), 0.0);
    double steps = 0, tokens = 0;
    for (const GenerateResult& res : engine.generate(reqs)) {
      for (const auto& block : res.trace) {
        size_t masked = 16;
        for (const auto& after : block) {
          const size_t now = static_cast<size_t>(std::count(after.begin(), after.end(), c.mask_token_id));
          const size_t k = masked - now;
          masked = now;
          if (k >= 1 && k <= 16) hist[k - 1] += 1, steps += 1, tokens += static_cast<double>(k);
        }
      }
    }
    for (double& h : hist) h = steps > 0 ? std::round(h / steps * 1e6) / 1e6 : 0;
    char key[16];
    std::snprintf(key, sizeof key, "%g", static_cast<double>(g));
    commits[key] = hist;
    means[key] = steps > 0 ? tokens / steps : 0;
  }
  return {{"name", "default-model-cpu"},
          {"description", "models/default on this machine's CPU (" + (o.threads > 0 ? std::to_string(o.threads) : std::string("default")) +
                              " threads), measured by `twotower profile`"},
          {"block_size", 16},
          {"steps", 16},
          {"gpus_per_context", 1},
          {"gpus_per_denoiser", 1},
          {"kv_bytes_per_token", 0},
          {"state_bytes", 0},
          {"context_forward", {{"tokens_seconds", ctx_table}, {"per_sequence_s", ctx_per_seq}}},
          {"denoiser_forward", {{"tokens_seconds", den_table}, {"per_context_token_s", den_per_ctx_token}}},
          {"tokens_per_step", commits},
          {"measured_tokens_per_step_mean", means}};
}

}  // namespace tt::bench
