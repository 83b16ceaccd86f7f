// The embedded default model: the C++ engine and the PyTorch reference agree on
// its logits (goldens from tools/train/make_default_goldens.py), and it loads
// as the default when --model is not given.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "model/model.hpp"
#include "model/time_conditioning.hpp"
#include "model/tower.hpp"

namespace tt {
namespace {

const std::string kModel = std::string(TWOTOWER_TEST_SOURCE) + "/models/default";
const std::string kGold = std::string(TT_TEST_DATA) + "/default-goldens";

double rel_error(const std::vector<float>& a, const std::vector<float>& ref) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    diff = std::max(diff, std::abs(static_cast<double>(a[i]) - ref[i]));
    scale = std::max(scale, std::abs(static_cast<double>(ref[i])));
  }
  return diff / std::max(scale, 1e-12);
}

TEST(DefaultModel, LogitsMatchTheReference) {
  if (!std::filesystem::exists(kModel + "/config.json")) GTEST_SKIP() << "no models/default";
  auto model = Model::load(kModel);
  Checkpoint gold = Checkpoint::open(kGold + "/logits.safetensors");
  std::ifstream in(kGold + "/prompts.json");
  const auto j = nlohmann::json::parse(in);
  ASSERT_TRUE(model->tokenizer);
  Tower ctx(model->config, *model->weights.context);
  for (size_t i = 0; i < j["prompts"].size(); ++i) {
    auto ids = j["ids"]["prompt" + std::to_string(i)].get<std::vector<int32_t>>();
    EXPECT_EQ(model->tokenizer->encode(j["prompts"][i].get<std::string>()), ids);
    SequenceCache cache(model->config);
    TowerItem item{ids, &cache, nullptr, nullptr, true};
    std::vector<float> hidden, logits;
    ctx.forward({&item, 1}, hidden);
    std::vector<int> rows(ids.size());
    for (size_t r = 0; r < rows.size(); ++r) rows[r] = static_cast<int>(r);
    ctx.logits(hidden, rows, logits);
    EXPECT_LE(rel_error(logits, gold.read_f32("context.logits." + std::to_string(i))), 1e-4) << "prompt " << i;
    if (i != 0) continue;
    CacheView view = view_of(cache);
    Tower den(model->config, *model->weights.denoiser);
    ModulationCache mods(model->config, *model->weights.time);
    std::vector<int32_t> block(16, model->config.mask_token_id);
    TowerItem d{block, nullptr, &view, mods.get(1.0f).data(), false};
    den.forward({&d, 1}, hidden);
    rows.resize(16);
    for (int r = 0; r < 16; ++r) rows[r] = r;
    den.logits(hidden, rows, logits);
    EXPECT_LE(rel_error(logits, gold.read_f32("denoiser.logits.0")), 1e-4);
  }
}

}  // namespace
}  // namespace tt
