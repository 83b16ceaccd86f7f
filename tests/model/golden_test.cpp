// The C++ engine against the independent PyTorch reference (tools/reference)
// on tests/data/tiny-random: layer by layer (fp32, normwise relative error
// <= 1e-4), then whole decoding trajectories exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "kernels/cpu/sampling.hpp"
#include "model/engine.hpp"
#include "model/time_conditioning.hpp"
#include "model/tower.hpp"

namespace tt {
namespace {

using nlohmann::json;

const std::string kDir = std::string(TT_TEST_DATA) + "/tiny-random";
constexpr double kTol = 1e-4;

struct Fixture {
  std::unique_ptr<Model> model;
  std::unique_ptr<Checkpoint> golden;
  json traj;
};

Fixture& fixture() {
  static Fixture f = [] {
    Fixture x;
    x.model = Model::load(kDir);
    x.golden = std::make_unique<Checkpoint>(Checkpoint::open(kDir + "/goldens/layers.safetensors"));
    std::ifstream in(kDir + "/goldens/trajectories.json");
    x.traj = json::parse(in);
    return x;
  }();
  return f;
}

// max |a - b| / max |b| over the tensor.
double rel_error(const float* a, const std::vector<float>& ref) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    diff = std::max(diff, std::abs(static_cast<double>(a[i]) - ref[i]));
    scale = std::max(scale, std::abs(static_cast<double>(ref[i])));
  }
  return diff / std::max(scale, 1e-12);
}

// Collects the tower's named intermediates under a prefix.
struct Dumps {
  std::string prefix;
  std::map<std::string, std::vector<float>> values;
  DumpFn fn() {
    return [this](const std::string& name, const float* d, int rows, int cols) {
      values[prefix + name].assign(d, d + static_cast<size_t>(rows) * cols);
    };
  }
};

void expect_close(const std::string& name, const float* got, size_t n) {
  auto ref = fixture().golden->read_f32(name);
  ASSERT_EQ(ref.size(), n) << name;
  double e = rel_error(got, ref);
  EXPECT_LE(e, kTol) << name << " relative error " << e;
}

std::vector<int32_t> ids(const json& j) { return j.get<std::vector<int32_t>>(); }

TEST(Golden, ContextPrefillLayerByLayer) {
  auto& f = fixture();
  const ModelConfig& c = f.model->config;
  auto prompt = ids(f.traj["prompt_ids"]["long"]);
  SequenceCache cache(c);
  Tower tower(c, *f.model->weights.context);
  Dumps d{"context.", {}};
  std::vector<float> hidden, logits;
  TowerItem item{prompt, &cache, nullptr, nullptr, true};
  tower.forward({&item, 1}, hidden, d.fn());
  std::vector<int> rows(prompt.size());
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<int>(i);
  tower.logits(hidden, rows, logits);
  expect_close("context.embed", d.values["context.embed"].data(), d.values["context.embed"].size());
  for (int i = 0; i < c.num_hidden_layers; ++i) {
    const std::string n = "context.layer." + std::to_string(i);
    expect_close(n, d.values[n].data(), d.values[n].size());
  }
  expect_close("context.final_norm", hidden.data(), hidden.size());
  expect_close("context.logits", logits.data(), logits.size());
  LayerSlots slots(c);
  for (int i = 0; i < c.num_hidden_layers; ++i) {
    if (c.layers[i] != LayerKind::mamba) continue;
    const MambaState& st = cache.mamba(slots.slot[i]);
    expect_close("context.mamba." + std::to_string(i) + ".ssm", st.ssm.data(), st.ssm.size());
    expect_close("context.mamba." + std::to_string(i) + ".conv", st.conv.data(), st.conv.size());
  }

  // Extension by more tokens through the cache.
  auto ext = ids(f.traj["extend_ids"]);
  Dumps e{"context_ext.", {}};
  TowerItem item2{ext, &cache, nullptr, nullptr, true};
  tower.forward({&item2, 1}, hidden, e.fn());
  rows.resize(ext.size());
  tower.logits(hidden, rows, logits);
  for (int i = 0; i < c.num_hidden_layers; ++i) {
    const std::string n = "context_ext.layer." + std::to_string(i);
    expect_close(n, e.values[n].data(), e.values[n].size());
  }
  expect_close("context_ext.logits", logits.data(), logits.size());
  EXPECT_EQ(cache.length(), static_cast<int>(prompt.size() + ext.size()));
}

// Runs the denoiser on `block` seeded by the cache after `prompt`.
std::vector<float> denoise(const std::vector<int32_t>& prompt, const std::vector<int32_t>& block,
                           bool time_conditioning, Dumps* dumps, std::vector<float>* t_emb = nullptr) {
  auto& f = fixture();
  const ModelConfig& c = f.model->config;
  SequenceCache cache(c);
  Tower ctx(c, *f.model->weights.context);
  std::vector<float> hidden, logits;
  TowerItem item{prompt, &cache, nullptr, nullptr, true};
  ctx.forward({&item, 1}, hidden);
  CacheView view = view_of(cache);
  Tower den(c, *f.model->weights.denoiser);
  ModulationCache mods(c, *f.model->weights.time);
  int masked = 0;
  for (int32_t t : block) masked += t == c.mask_token_id;
  const float t = static_cast<float>(masked) / static_cast<float>(block.size());
  if (t_emb) *t_emb = time_embedding(*f.model->weights.time, c.hidden_size, t);
  TowerItem d{block, nullptr, &view, time_conditioning ? mods.get(t).data() : nullptr, !time_conditioning};
  den.forward({&d, 1}, hidden, dumps ? dumps->fn() : DumpFn());
  std::vector<int> rows(block.size());
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<int>(i);
  den.logits(hidden, rows, logits);
  return logits;
}

TEST(Golden, DenoiserBlockLayerByLayer) {
  auto& f = fixture();
  const ModelConfig& c = f.model->config;
  auto prompt = ids(f.traj["prompt_ids"]["long"]);
  auto block = ids(f.traj["block_ids"]);
  Dumps d{"denoiser.", {}};
  std::vector<float> t_emb;
  auto logits = denoise(prompt, block, true, &d, &t_emb);
  expect_close("denoiser.t_emb", t_emb.data(), t_emb.size());
  for (int i = 0; i < c.num_hidden_layers; ++i) {
    const std::string n = "denoiser.layer." + std::to_string(i);
    expect_close(n, d.values[n].data(), d.values[n].size());
  }
  expect_close("denoiser.logits", logits.data(), logits.size());
  std::vector<int32_t> all_mask(block.size(), c.mask_token_id);
  auto l2 = denoise(prompt, all_mask, true, nullptr);
  expect_close("denoiser_allmask.logits", l2.data(), l2.size());
}

TEST(Golden, MockArFirstStep) {
  auto& f = fixture();
  auto prompt = ids(f.traj["prompt_ids"]["long"]);
  std::vector<int32_t> head(prompt.begin(), prompt.end() - 1);
  auto logits = denoise(head, {prompt.back()}, false, nullptr);
  expect_close("mock_ar.logits", logits.data(), logits.size());
}

GenerateRequest request_of(const json& run) {
  GenerateRequest r;
  r.prompt = ids(run["prompt_ids"]);
  r.mode = parse_mode(run["mode"].get<std::string>());
  r.max_tokens = run["max_tokens"].get<int>();
  r.diffusion.temperature = run.value("temperature", 0.0f);
  r.diffusion.seed = run.value("seed", uint64_t{0});
  if (r.mode == Mode::diffusion) {
    r.diffusion.gamma = run["gamma"].get<float>();
    r.diffusion.block_size = run["block_size"].get<int>();
    r.diffusion.steps = run["steps"].get<int>();
  }
  r.trace = true;
  return r;
}

TEST(Golden, Trajectories) {
  auto& f = fixture();
  Engine engine(*f.model);
  int checked = 0;
  for (const auto& run : f.traj["runs"]) {
    const std::string mode = run["mode"];
    SCOPED_TRACE(run.dump().substr(0, 200));
    if (mode == "score") {
      auto prompt = ids(run["prompt_ids"]);
      auto cont = ids(run["continuation_ids"]);
      ScoreResult s = engine.score(prompt, cont);
      const double ref = run["logprob"].get<double>();
      EXPECT_NEAR(s.logprob, ref, 1e-4 * std::max(1.0, std::abs(ref)));
      auto per = run["token_logprobs"].get<std::vector<double>>();
      ASSERT_EQ(per.size(), s.token_logprobs.size());
      for (size_t i = 0; i < per.size(); ++i) EXPECT_NEAR(s.token_logprobs[i], per[i], 1e-4 * std::max(1.0, std::abs(per[i])));
      ++checked;
      continue;
    }
    GenerateResult r = engine.generate(request_of(run));
    EXPECT_EQ(r.tokens, ids(run["tokens"]));
    if (mode == "diffusion") {
      EXPECT_EQ(r.denoiser_forwards, run["denoiser_forwards"].get<int>());
      const auto& blocks = run["blocks"];
      ASSERT_EQ(r.trace.size(), blocks.size());
      for (size_t b = 0; b < blocks.size(); ++b) {
        const auto& steps = blocks[b]["steps"];
        ASSERT_EQ(r.trace[b].size(), steps.size()) << "block " << b;
        for (size_t s = 0; s < steps.size(); ++s) EXPECT_EQ(r.trace[b][s], ids(steps[s])) << "block " << b << " step " << s;
      }
    }
    ++checked;
  }
  EXPECT_GE(checked, 10);
}

// A sequence's output never depends on what else is in the batch.
TEST(Golden, BatchedRunsEqualSingleRuns) {
  auto& f = fixture();
  Engine engine(*f.model);
  std::vector<GenerateRequest> reqs;
  for (const auto& run : f.traj["runs"])
    if (run["mode"] != "score") reqs.push_back(request_of(run));
  ASSERT_GE(reqs.size(), 4u);
  auto batched = engine.generate(reqs);
  for (size_t i = 0; i < reqs.size(); ++i) {
    GenerateResult single = engine.generate(reqs[i]);
    EXPECT_EQ(batched[i].tokens, single.tokens) << "request " << i;
    EXPECT_EQ(batched[i].trace, single.trace) << "request " << i;
  }
}

TEST(Golden, DenoiserLogitsBitIdenticalInABatch) {
  auto& f = fixture();
  const ModelConfig& c = f.model->config;
  auto pa = ids(f.traj["prompt_ids"]["long"]);
  auto pb = ids(f.traj["prompt_ids"]["short"]);
  Tower ctx(c, *f.model->weights.context);
  SequenceCache ca(c), cb(c);
  std::vector<float> hidden, alone, together;
  TowerItem items[2] = {{pa, &ca, nullptr, nullptr, true}, {pb, &cb, nullptr, nullptr, true}};
  ctx.forward(items, hidden);
  CacheView va = view_of(ca), vb = view_of(cb);
  Tower den(c, *f.model->weights.denoiser);
  ModulationCache mods(c, *f.model->weights.time);
  auto block = ids(f.traj["block_ids"]);
  std::vector<int32_t> all_mask(block.size(), c.mask_token_id);
  TowerItem a{block, nullptr, &va, mods.get(10.0f / 16).data(), false};
  TowerItem b{all_mask, nullptr, &vb, mods.get(1.0f).data(), false};
  den.forward({&a, 1}, hidden);
  alone = hidden;
  TowerItem both[2] = {b, a};
  den.forward(both, hidden);
  together.assign(hidden.end() - alone.size(), hidden.end());
  EXPECT_EQ(0, std::memcmp(alone.data(), together.data(), alone.size() * sizeof(float)));
}

// The counter RNG agrees with the Python reference bit for bit.
TEST(Golden, CounterRngMatchesReference) {
  const auto& vectors = fixture().traj["rng_vectors"];
  ASSERT_GE(vectors.size(), 3u);
  for (const auto& v : vectors) {
    const uint64_t seed = std::stoull(v["seed"].get<std::string>());
    const uint64_t stream = std::stoull(v["stream"].get<std::string>());
    const uint64_t counter = v["counter"].get<uint64_t>();
    EXPECT_EQ(cpu::mix64(seed), std::stoull(v["mix64_seed_hex"].get<std::string>(), nullptr, 16));
    EXPECT_EQ(cpu::counter_uniform(seed, stream, counter), v["uniform"].get<double>());
    EXPECT_NEAR(cpu::counter_gumbel(seed, stream, counter), v["gumbel"].get<double>(), 1e-15);
  }
}

}  // namespace
}  // namespace tt
