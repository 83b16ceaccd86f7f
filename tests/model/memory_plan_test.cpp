// plan-memory: weight, cache and placement figures against hand-computed numbers
// for tiny-random, the default model and the released 30B config.
#include "model/memory_plan.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "model/error.hpp"
#include "model/safetensors.hpp"
#include "tests/support/process.hpp"

namespace tt {
namespace {

const std::string kData = TT_TEST_DATA;
const std::string kDefault = std::string(TWOTOWER_TEST_SOURCE) + "/models/default";

ModelConfig config_of(const std::string& dir) { return load_config(dir + "/config.json"); }

// Parameters of one tower as stored in a real checkpoint (prefix match).
int64_t checkpoint_params(const std::string& dir, bool denoiser) {
  const Checkpoint ck = Checkpoint::open(dir);
  int64_t n = 0;
  for (const std::string& name : ck.names()) {
    const bool ctx = name.rfind("context_tower.", 0) == 0 || name == "context_lm_head.weight";
    const bool den = name.rfind("denoiser_tower.", 0) == 0 || name == "lm_head.weight" ||
                     name.rfind("t_embedder.", 0) == 0 || name.rfind("t_block.", 0) == 0 ||
                     name.rfind("scale_shift_tables.", 0) == 0;
    if (denoiser ? den : ctx) n += ck.get(name).numel();
  }
  return n;
}

TEST(MemoryPlan, TinyRandomByHand) {
  const ModelConfig c = config_of(kData + "/tiny-random");
  const TowerBytes ctx = tower_bytes(c, false), den = tower_bytes(c, true);
  // Mamba: norm 64 + in_proj 200*64 + conv 128*4 + bias 128 + 3*8 + norm 64 + out 64*64 = 17688 params.
  EXPECT_EQ(ctx.mamba, 3 * 17688 * 2);
  // Attention: 64 + q 64*64 + k,v 2*32*64 + o 64*64 = 12352 params.
  EXPECT_EQ(ctx.attention, 2 * 12352 * 2);
  // MoE: bf16 64 + 8*2*32*64 + 2*48*64 = 38976; fp32 router 8*64 + 8 = 520.
  EXPECT_EQ(ctx.moe, 3 * (38976 * 2 + 520 * 4));
  EXPECT_EQ(ctx.mlp, 1 * (64 + 2 * 96 * 64) * 2);
  EXPECT_EQ(ctx.params, 339744);
  EXPECT_EQ(ctx.total, 682608);
  // Time conditioning: 256*64 + 64 + 64*64 + 64 + 3*64*64 + 192 + 9*192 = 34816 params.
  EXPECT_EQ(den.time_conditioning, 34816 * 2);
  EXPECT_EQ(den.params, 374560);
  EXPECT_EQ(den.total, 752240);
  EXPECT_EQ(ctx.params, checkpoint_params(kData + "/tiny-random", false));
  EXPECT_EQ(den.params, checkpoint_params(kData + "/tiny-random", true));

  const CacheBytes cb = cache_bytes(c, {});
  EXPECT_EQ(cb.kv_per_token, 2 * 2 * 2 * 16 * 2);           // 2 layers x K,V x 2 heads x 16 x bf16
  EXPECT_EQ(cb.conv_per_sequence, 3 * 3 * 128 * 2);          // 3 layers x 3 columns x 128 x bf16
  EXPECT_EQ(cb.ssm_per_sequence, 3 * 8 * 8 * 16 * 4);        // 3 layers x [8, 8, 16] fp32
  // 64*4 + 2*64*2 + max(mamba 200*2 + 128*2 + 64*6 = 1040, attn 256, moe 32 + 2*(8+64+256) + 96 = 784).
  EXPECT_EQ(cb.activation_row, 1552);
  EXPECT_EQ(cb.modulation_per_block, 9 * 3 * 64 * 4);
}

TEST(MemoryPlan, DefaultModelByHand) {
  const ModelConfig c = config_of(kDefault);
  const TowerBytes ctx = tower_bytes(c, false), den = tower_bytes(c, true);
  EXPECT_EQ(ctx.params, 5270912);
  EXPECT_EQ(ctx.total, 10558272);
  EXPECT_EQ(den.params, 5607552);
  EXPECT_EQ(den.total, 11231552);
  EXPECT_EQ(ctx.params, checkpoint_params(kDefault, false));
  EXPECT_EQ(den.params, checkpoint_params(kDefault, true));
  const CacheBytes cb = cache_bytes(c, {});
  EXPECT_EQ(cb.kv_per_token, 2 * 2 * 2 * 64 * 2);
  EXPECT_EQ(cb.conv_per_sequence, 4 * 3 * 384 * 2);
  EXPECT_EQ(cb.ssm_per_sequence, 4 * 8 * 32 * 32 * 4);

  // One 1 GB GPU, 0.1 GB reserve, 4096 tokens: both towers and the context workspace
  // (2048 rows x 5648 B + 16 x 4096 x 4 B) leave 1e9 - 21789824 - 1e8 - 11829248 B;
  // a sequence costs 4096*1024 + 2*140288 (context) + 16*5648 + 262144 + 30720 + 140288 (block).
  PlanOptions o;
  o.gpus = 1;
  o.gpu_memory_gb = 1.0;
  o.reserve_gb = 0.1;
  const MemoryPlan p = plan_memory(c, o);
  ASSERT_EQ(p.gpus.size(), 1u);
  EXPECT_EQ(p.gpus[0].role, "context+denoiser");
  EXPECT_EQ(p.gpus[0].workspace, 11829248);
  EXPECT_EQ(p.gpus[0].per_sequence, 4194304 + 280576 + 90368 + 262144 + 30720 + 140288);
  EXPECT_EQ(p.diffusion_sequences, (1000000000LL - 21789824 - 100000000 - 11829248) / 4998400);
  EXPECT_EQ(p.diffusion_sequences, 173);
}

TEST(MemoryPlan, Released30BOnTwo80GBGpus) {
  const ModelConfig c = config_of(kData + "/nemotron-30b-config");
  const TowerBytes ctx = tower_bytes(c, false), den = tower_bytes(c, true);
  // CHECKPOINT.md §2 golden counts.
  EXPECT_EQ(ctx.params, 31577940288LL);
  EXPECT_EQ(den.params, 31607962560LL);
  EXPECT_EQ(ctx.mamba / 23, 38744896LL * 2);
  EXPECT_EQ(ctx.attention / 6, 23399040LL * 2);
  // MoE 1,297,468,160 params, of which 128*2688 + 128 router values are fp32.
  EXPECT_EQ(ctx.moe / 23, (1297468160LL - 344192) * 2 + 344192 * 4);
  EXPECT_EQ(ctx.total, 63171713408LL);
  EXPECT_EQ(den.total, 63231757952LL);

  const CacheBytes cb = cache_bytes(c, {});
  EXPECT_EQ(cb.kv_per_token, 6144);            // 6 x 2 x 2 x 128 x 2 B
  EXPECT_EQ(cb.ssm_per_sequence, 48234496);    // 23 x 64 x 64 x 128 x 4 B
  EXPECT_EQ(cb.conv_per_sequence, 847872);     // 23 x 3 x 6144 x 2 B

  PlanOptions o;  // 2 GPUs x 80 GB, 4096 tokens
  const MemoryPlan p = plan_memory(c, o);
  ASSERT_EQ(p.gpus.size(), 2u);
  EXPECT_EQ(p.gpus[0].role, "context");
  EXPECT_EQ(p.gpus[1].role, "denoiser");
  // Context: 80e9 - 63171713408 - 1.5e9 - (2048 x 116272 + 16 x 131072 x 4) free,
  // 4096 x 6144 + 2 x 49082368 per sequence.
  EXPECT_EQ(p.gpus[0].free_for_cache, 15081772928LL);
  EXPECT_EQ(p.gpus[0].per_sequence, 123330560LL);
  EXPECT_EQ(p.gpus[0].sequences, 122);
  // Denoiser: K/V mirror + seed state + block (16 x 116272 + 8388608 + 1677312 + 49082368).
  EXPECT_EQ(p.gpus[1].per_sequence, 135256832LL);
  EXPECT_EQ(p.gpus[1].sequences, 112);
  EXPECT_EQ(p.diffusion_sequences, 112);
  EXPECT_EQ(p.ar_only.sequences, 203);

  o.gpus = 1;  // both towers (126 GB) cannot share one 80 GB GPU
  const MemoryPlan one = plan_memory(c, o);
  EXPECT_FALSE(one.gpus[0].fits);
  EXPECT_EQ(one.diffusion_sequences, 0);
  EXPECT_TRUE(one.ar_only.fits);
}

TEST(MemoryPlan, RejectsBadOptions) {
  const ModelConfig c = config_of(kDefault);
  PlanOptions o;
  o.gpus = 0;
  EXPECT_THROW(plan_memory(c, o), Error);
  o = {};
  o.seq_len = 0;
  EXPECT_THROW(plan_memory(c, o), Error);
}

TEST(MemoryPlanCli, PrintsJsonAndTable) {
  const auto json = test::run_binary("plan-memory --model " + kData + "/nemotron-30b-config --gpus 2 --json");
  ASSERT_EQ(json.status, 0) << json.out;
  const auto j = nlohmann::json::parse(json.out);
  EXPECT_EQ(j["diffusion_sequences"], 112);
  EXPECT_EQ(j["weights"]["context_tower"]["params"], 31577940288LL);
  EXPECT_EQ(j["placement"].size(), 2u);
  const auto table = test::run_binary("plan-memory --model " + kData + "/nemotron-30b-config");
  ASSERT_EQ(table.status, 0);
  EXPECT_NE(table.out.find("diffusion: 112 concurrent sequences"), std::string::npos) << table.out;
}

TEST(MemoryPlanCli, BadInputIsOneClearError) {
  auto r = test::run_binary("plan-memory --model /nonexistent 2>&1");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("cannot open config file"), std::string::npos) << r.out;
  r = test::run_binary("plan-memory --model " + kDefault + " --gpus 0 2>&1");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("--gpus"), std::string::npos) << r.out;
  r = test::run_binary("plan-memory 2>&1");
  EXPECT_EQ(r.status, 2);
}

}  // namespace
}  // namespace tt
