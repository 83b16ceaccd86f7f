// The GPU tower (model/cuda) against the CPU tower (model/tower.cpp, itself
// checked against the PyTorch reference) on tests/data/tiny-random and the
// default model: context prefill (recurrent and chunked scan), cached
// extension, the cache contents, a denoiser block seeded from the cache with
// time modulation, batch invariance, on-device token choice, and errors (not
// crashes) for bad input. The GPU rounds
// activations to bf16 going into the tensor cores (the CPU keeps fp32), so the
// tolerances are relative to the reference's scale; every measured error is
// printed so that a run on a device can tighten them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <tuple>

#include "model/cache.hpp"
#include "model/config.hpp"
#include "model/cuda/gpu_cache.hpp"
#include "model/cuda/gpu_tower.hpp"
#include "model/cuda/gpu_weights.hpp"
#include "model/error.hpp"
#include "model/safetensors.hpp"
#include "model/time_conditioning.hpp"
#include "model/tower.hpp"
#include "model/weights.hpp"
#include "tests/kernels/cuda/gpu_support.hpp"

namespace tt {
namespace {

// Bounds on the scaled error (max |gpu - cpu| over the largest |cpu|) and on the relative
// L2 error (||gpu - cpu|| / ||cpu||): a wrong layer gives errors of order 1 in both; the
// second also sees an error in small channels that an outlier channel's scale hides.
constexpr double kHiddenTol = 5e-2;  // of hidden states and logits
constexpr double kStateTol = 5e-2;   // of cached K/V and Mamba state
constexpr double kArgmaxAgreement = 0.9;

struct Models {
  std::string dir;
  ModelConfig config;
  std::shared_ptr<const Checkpoint> checkpoint;
  ModelWeights cpu;
  gpu::TowerWeights gpu_context, gpu_denoiser;
  TimeWeights time;

  explicit Models(const std::string& d)
      : dir(d),
        config(load_config(d + "/config.json")),
        checkpoint(std::make_shared<const Checkpoint>(Checkpoint::open(d))),
        cpu(load_weights(config, checkpoint)),
        gpu_context(gpu::upload_tower(config, *checkpoint, "context_tower", "context_lm_head")),
        gpu_denoiser(gpu::upload_tower(config, *checkpoint, "denoiser_tower", "lm_head")),
        time(load_time_weights(config, *checkpoint)) {}
};

std::vector<std::string> model_dirs() {
  const std::string root = TWOTOWER_TEST_SOURCE;
  return {root + "/tests/data/tiny-random", root + "/models/default"};
}

std::vector<int32_t> random_tokens(int n, int vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> d(4, vocab - 1);
  std::vector<int32_t> t(n);
  for (auto& x : t) x = d(rng);
  return t;
}

// ||a - b|| / ||b|| (infinite when a holds a NaN or infinity).
double relative_l2(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0.0, norm = 0.0;
  for (size_t i = 0; i < b.size(); ++i) {
    const double d = static_cast<double>(a[i]) - b[i];
    diff += d * d;
    norm += static_cast<double>(b[i]) * b[i];
  }
  if (!std::isfinite(diff)) return std::numeric_limits<double>::infinity();
  return norm > 0.0 ? std::sqrt(diff / norm) : std::sqrt(diff);
}

void check_close(const char* what, const std::string& dir, const std::vector<float>& gpu,
                 const std::vector<float>& cpu, double tol) {
  EXPECT_EQ(gpu.size(), cpu.size()) << what;
  if (gpu.size() != cpu.size()) return;
  const double err = test::scaled_error(gpu, cpu), l2 = relative_l2(gpu, cpu);
  std::printf("[gpu-tower] %s %s: scaled error %.3g, relative L2 error %.3g\n", dir.c_str(), what, err, l2);
  EXPECT_LT(err, tol) << what << " on " << dir;
  EXPECT_LT(l2, tol) << what << " on " << dir;
}

// Share of rows whose argmax over `vocab` agrees.
double argmax_agreement(const std::vector<float>& a, const std::vector<float>& b, int vocab) {
  const size_t rows = a.size() / vocab;
  size_t same = 0;
  for (size_t r = 0; r < rows; ++r) {
    auto ra = a.begin() + r * vocab, rb = b.begin() + r * vocab;
    same += std::max_element(ra, ra + vocab) - ra == std::max_element(rb, rb + vocab) - rb;
  }
  return rows ? static_cast<double>(same) / rows : 1.0;
}

std::vector<int> all_rows(int n) {
  std::vector<int> r(n);
  for (int i = 0; i < n; ++i) r[i] = i;
  return r;
}

// Runs one context forward of `tokens` on both towers and compares hidden states and logits.
void extend_both(Models& m, Tower& cpu_tower, SequenceCache& cpu_cache, gpu::Tower& gpu_tower,
                 gpu::SequenceCache& gpu_cache, const std::vector<int32_t>& tokens, const char* what) {
  std::vector<float> hidden;
  TowerItem ci{tokens, &cpu_cache};
  cpu_tower.forward({&ci, 1}, hidden);
  gpu::TowerItem gi{tokens, &gpu_cache};
  gpu_tower.forward({&gi, 1});
  check_close(what, m.dir, gpu_tower.hidden_host(), hidden, kHiddenTol);
  const auto rows = all_rows(static_cast<int>(tokens.size()));
  std::vector<float> cpu_logits;
  cpu_tower.logits(hidden, rows, cpu_logits);
  const auto gpu_logits = gpu_tower.logits(rows);
  check_close((std::string(what) + " logits").c_str(), m.dir, gpu_logits, cpu_logits, kHiddenTol);
  const double agree = argmax_agreement(gpu_logits, cpu_logits, m.config.vocab_size);
  std::printf("[gpu-tower] %s %s: argmax agreement %.3f\n", m.dir.c_str(), what, agree);
  EXPECT_GE(agree, kArgmaxAgreement) << what;
  EXPECT_EQ(gpu_cache.length(), cpu_cache.length());
}

void compare_caches(const std::string& dir, const gpu::SequenceCache& g, const SequenceCache& c) {
  const SequenceCache d = g.download();
  ASSERT_EQ(d.length(), c.length());
  for (int s = 0; s < c.attention_slots(); ++s) {
    check_close("cached K", dir, d.kv(s).k, c.kv(s).k, kStateTol);
    check_close("cached V", dir, d.kv(s).v, c.kv(s).v, kStateTol);
  }
  for (int s = 0; s < c.mamba_slots(); ++s) {
    check_close("conv history", dir, d.mamba(s).conv, c.mamba(s).conv, kStateTol);
    check_close("ssm state", dir, d.mamba(s).ssm, c.mamba(s).ssm, kStateTol);
  }
}

// Runs the context tower over `pieces` in turn on both devices (from an empty
// cache of `capacity` rows on the GPU) and compares every forward and the final caches.
void extend_in_pieces(const std::vector<std::pair<int, const char*>>& pieces, int capacity) {
  for (const auto& dir : model_dirs()) {
    Models m(dir);
    Tower cpu_tower(m.config, *m.cpu.context);
    gpu::Tower gpu_tower(m.config, m.gpu_context);
    SequenceCache cpu_cache(m.config);
    gpu::SequenceCache gpu_cache(m.config, capacity);
    uint32_t seed = 1;
    for (const auto& [n, what] : pieces)
      extend_both(m, cpu_tower, cpu_cache, gpu_tower, gpu_cache, random_tokens(n, m.config.vocab_size, seed++), what);
    compare_caches(dir, gpu_cache, cpu_cache);
  }
}

TEST(GpuTower, ContextPrefillAndExtensionMatchTheCpuTower) {
  TT_REQUIRE_GPU();
  extend_in_pieces({{37, "prefill 37"}, {1, "decode 1"}, {16, "extend 16"}}, 0);
}

TEST(GpuTower, ChunkedScanPrefillMatchesTheCpuTower) {
  TT_REQUIRE_GPU();
  extend_in_pieces({{200, "prefill 200"}, {3, "extend 3"}}, 8);  // 8 rows: also grows the K/V buffers
}

TEST(GpuTower, DenoiserBlockSeededFromTheCacheMatchesTheCpuTower) {
  TT_REQUIRE_GPU();
  for (const auto& dir : model_dirs()) {
    Models m(dir);
    Tower cpu_ctx(m.config, *m.cpu.context), cpu_den(m.config, *m.cpu.denoiser);
    gpu::Tower gpu_ctx(m.config, m.gpu_context), gpu_den(m.config, m.gpu_denoiser);
    // Both denoisers read the same context state: the CPU's, uploaded.
    SequenceCache cpu_cache(m.config);
    std::vector<float> hidden;
    const auto prompt = random_tokens(48, m.config.vocab_size, 6);
    TowerItem pi{prompt, &cpu_cache};
    cpu_ctx.forward({&pi, 1}, hidden);
    gpu::SequenceCache gpu_cache(m.config);
    gpu_cache.upload(cpu_cache);
    compare_caches(dir, gpu_cache, cpu_cache);  // upload/download round trip: exact

    auto block = random_tokens(16, m.config.vocab_size, 7);
    for (int i = 0; i < 16; i += 2) block[i] = m.config.mask_token_id;
    const float t = 0.5f;
    ModulationCache cpu_mod(m.config, m.time);
    gpu::Modulation gpu_mod(m.config, m.time);
    const CacheView cv = view_of(cpu_cache);
    TowerItem ci{block, nullptr, &cv, cpu_mod.get(t).data(), false};
    cpu_den.forward({&ci, 1}, hidden);
    const gpu::CacheView gv = gpu_cache.view();
    gpu::TowerItem gi{block, nullptr, &gv, gpu_mod.get(t), false};
    gpu_den.forward({&gi, 1});
    check_close("denoiser block", dir, gpu_den.hidden_host(), hidden, kHiddenTol);
    std::vector<float> cpu_logits;
    cpu_den.logits(hidden, all_rows(16), cpu_logits);
    const auto gpu_logits = gpu_den.logits(all_rows(16));
    check_close("denoiser logits", dir, gpu_logits, cpu_logits, kHiddenTol);
    EXPECT_GE(argmax_agreement(gpu_logits, cpu_logits, m.config.vocab_size), kArgmaxAgreement);
    // The seed is read, never written: a second step gives the same answer.
    gpu_den.forward({&gi, 1});
    EXPECT_EQ(gpu_den.logits(all_rows(16)), gpu_logits);
    compare_caches(dir, gpu_cache, cpu_cache);
  }
}

TEST(GpuTower, ASequencesRowsDoNotDependOnTheBatch) {
  TT_REQUIRE_GPU();
  Models m(model_dirs()[1]);
  gpu::Tower tower(m.config, m.gpu_context);
  // 80 rows take the chunked scan, 9 the recurrence: both kinds in one batch.
  const int na = 80, H = m.config.hidden_size;
  const auto a = random_tokens(na, m.config.vocab_size, 8), b = random_tokens(9, m.config.vocab_size, 9);
  gpu::SequenceCache ca(m.config), cb(m.config), a_alone(m.config), b_alone(m.config);
  gpu::TowerItem items[] = {{a, &ca}, {b, &cb}};
  tower.forward(items);
  const auto both = tower.hidden_host();
  // cuBLAS may pick another algorithm for another row count: equal to fp32 rounding, not bitwise.
  for (const auto& [tokens, cache, first, what] :
       {std::tuple{&a, &a_alone, 0, "first item batched vs alone"},
        std::tuple{&b, &b_alone, na, "second item batched vs alone"}}) {
    gpu::TowerItem one{*tokens, cache};
    tower.forward({&one, 1});
    const std::vector<float> rows(both.begin() + static_cast<size_t>(first) * H,
                                  both.begin() + static_cast<size_t>(first + tokens->size()) * H);
    check_close(what, m.dir, rows, tower.hidden_host(), 1e-3);
  }
}

TEST(GpuTower, PickReturnsTheArgmaxAndItsProbability) {
  TT_REQUIRE_GPU();
  Models m(model_dirs()[1]);
  gpu::Tower tower(m.config, m.gpu_denoiser);
  gpu::Modulation mod(m.config, m.time);
  gpu::SequenceCache cache(m.config);
  gpu::Tower ctx(m.config, m.gpu_context);
  const auto prompt = random_tokens(20, m.config.vocab_size, 10);
  gpu::TowerItem pi{prompt, &cache};
  ctx.forward({&pi, 1});
  const std::vector<int32_t> block(16, m.config.mask_token_id);
  const gpu::CacheView view = cache.view();
  gpu::TowerItem bi{block, nullptr, &view, mod.get(1.0f), false};
  tower.forward({&bi, 1});
  const auto rows = all_rows(16);
  const auto logits = tower.logits(rows);
  std::vector<int32_t> tokens;
  std::vector<float> conf;
  tower.pick(rows, m.config.mask_token_id, 0.0f, 0, {}, tokens, conf);
  const int V = m.config.vocab_size;
  for (int r = 0; r < 16; ++r) {
    std::vector<float> row(logits.begin() + r * V, logits.begin() + (r + 1) * V);
    row[m.config.mask_token_id] = -INFINITY;
    const int best = static_cast<int>(std::max_element(row.begin(), row.end()) - row.begin());
    double z = 0;
    for (float x : row) z += std::exp(static_cast<double>(x) - row[best]);
    EXPECT_EQ(tokens[r], best) << "row " << r;
    EXPECT_NEAR(conf[r], 1.0 / z, 1e-4) << "row " << r;
  }
}

TEST(GpuTower, HostSeedsAndShortHostCachesAreErrorsNotCrashes) {
  TT_REQUIRE_GPU();
  Models m(model_dirs()[0]);
  gpu::Tower tower(m.config, m.gpu_denoiser);
  SequenceCache host(m.config);
  const CacheView host_view = view_of(host);  // host pointers: the kernels must never see them
  const std::vector<int32_t> block(16, m.config.mask_token_id);
  gpu::TowerItem it{block, nullptr, &host_view, nullptr, false};
  EXPECT_THROW(tower.forward({&it, 1}), Error);
  gpu::SequenceCache cache(m.config);
  host.set_length(5);  // a length without the rows (as an AR sequence's host cache keeps it)
  EXPECT_THROW(cache.upload(host), Error);
  EXPECT_THROW(cache.upload(cache.view()), Error);  // a device view is no host cache
  EXPECT_EQ(cache.length(), 0);
}

TEST(GpuTower, OutOfVocabularyTokensAreAnErrorNotACrash) {
  TT_REQUIRE_GPU();
  Models m(model_dirs()[0]);
  gpu::Tower tower(m.config, m.gpu_context);
  gpu::SequenceCache cache(m.config);
  const std::vector<int32_t> bad = {5, m.config.vocab_size};
  gpu::TowerItem it{bad, &cache};
  EXPECT_THROW(tower.forward({&it, 1}), std::exception);
  EXPECT_EQ(cache.length(), 0);
}

}  // namespace
}  // namespace tt
