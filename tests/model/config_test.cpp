// config.json parsing: the released 30B config, the pattern, and bad configs.
#include "model/config.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "model/error.hpp"

namespace tt {
namespace {

// The backbone fields of the released checkpoint (CHECKPOINT.md §6), as Python writes them.
const char* kReleased = R"({
  "architectures": ["NemotronHTwoTowerForCausalLM"], "model_type": "nemotron_h",
  "vocab_size": 131072, "hidden_size": 2688, "num_hidden_layers": 52,
  "hybrid_override_pattern": "MEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEMEM*EMEMEMEME",
  "num_attention_heads": 32, "num_key_value_heads": 2, "head_dim": 128, "attention_bias": false,
  "attention_dropout": 0.0, "max_position_embeddings": 262144,
  "mamba_num_heads": 64, "mamba_head_dim": 64, "n_groups": 8, "ssm_state_size": 128, "conv_kernel": 4,
  "chunk_size": 128, "expand": 2, "use_conv_bias": true, "use_bias": false, "mamba_proj_bias": false,
  "mamba_hidden_act": "silu", "time_step_min": 0.001, "time_step_max": 0.1, "time_step_floor": 1e-4,
  "time_step_limit": [0.0, Infinity], "mlp_hidden_act": "relu2", "mlp_bias": false, "intermediate_size": 1856,
  "n_routed_experts": 128, "n_shared_experts": 1, "moe_intermediate_size": 1856,
  "moe_shared_expert_intermediate_size": 3712, "num_experts_per_tok": 6, "routed_scaling_factor": 2.5,
  "n_group": 1, "topk_group": 1, "norm_topk_prob": true, "layer_norm_epsilon": 1e-5, "residual_in_fp32": false,
  "rescale_prenorm_residual": true, "tie_word_embeddings": false, "rope_theta": 10000, "partial_rotary_factor": 1.0,
  "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0, "torch_dtype": "bfloat16",
  "mamba_ssm_cache_dtype": "float32", "use_mamba_kernels": true, "num_logits_to_keep": 1, "use_cache": true,
  "initializer_range": 0.02, "auto_map": {"AutoConfig": "configuration_nemotron_h.NemotronHConfig"}
})";

std::string error_of(const std::string& text) {
  try {
    parse_config(text, "cfg.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string with(const std::string& key, const nlohmann::json& value) {
  std::string t = kReleased;
  auto j = nlohmann::json::parse(t.replace(t.find("Infinity"), 8, "3e38"));
  if (value.is_null()) j.erase(key);
  else j[key] = value;
  return j.dump();
}

TEST(Config, ParsesTheReleasedConfig) {
  ModelConfig c = parse_config(kReleased, "cfg.json");
  EXPECT_EQ(c.hidden_size, 2688);
  EXPECT_EQ(c.vocab_size, 131072);
  EXPECT_EQ(c.layers.size(), 52u);
  EXPECT_EQ(c.count(LayerKind::mamba), 23);
  EXPECT_EQ(c.count(LayerKind::moe), 23);
  EXPECT_EQ(c.count(LayerKind::attention), 6);
  EXPECT_EQ(c.layers[5], LayerKind::attention);
  EXPECT_EQ(c.d_inner(), 4096);
  EXPECT_EQ(c.conv_dim(), 6144);
  EXPECT_EQ(c.in_proj_dim(), 10304);
  EXPECT_EQ(c.num_experts_per_tok, 6);
  EXPECT_FLOAT_EQ(c.routed_scaling_factor, 2.5f);
  EXPECT_FLOAT_EQ(c.layer_norm_epsilon, 1e-5f);
  EXPECT_EQ(c.time_step_limit_max, 0.0f);  // Infinity: no clamp
  EXPECT_EQ(c.mask_token_id, 3);
  EXPECT_EQ(c.eos_token_id, 2);
}

TEST(Config, DenseMlpLayers) {
  auto j = nlohmann::json::parse(with("hybrid_override_pattern", "M-*E"));
  j["num_hidden_layers"] = 4;
  ModelConfig c = parse_config(j.dump(), "x");
  EXPECT_EQ(c.layers[1], LayerKind::mlp);
  EXPECT_EQ(c.intermediate_size, 1856);
  j.erase("intermediate_size");
  EXPECT_NE(error_of(j.dump()).find("'intermediate_size' is missing"), std::string::npos);
}

TEST(Config, RejectsBadConfigs) {
  EXPECT_NE(error_of("{\"vocab_size\": ").find("malformed JSON"), std::string::npos);
  EXPECT_NE(error_of("[1, 2]").find("expected a JSON object"), std::string::npos);
  EXPECT_NE(error_of(with("hidden_size", nullptr)).find("'hidden_size' is missing"), std::string::npos);
  EXPECT_NE(error_of(with("hidden_size", "big")).find("'hidden_size' must be an integer"), std::string::npos);
  EXPECT_NE(error_of(with("hidden_size", -4)).find("'hidden_size' must be positive"), std::string::npos);
  std::string bad_char = std::string(kReleased);
  bad_char.replace(bad_char.find("MEMEM*"), 6, "MEMEMX");
  EXPECT_NE(error_of(bad_char).find("unknown layer character 'X' at position 5"), std::string::npos);
  EXPECT_NE(error_of(with("num_hidden_layers", 51)).find("has 52 layers but num_hidden_layers is 51"), std::string::npos);
  EXPECT_NE(error_of(with("num_key_value_heads", 3)).find("must divide"), std::string::npos);
  EXPECT_NE(error_of(with("num_experts_per_tok", 200)).find("exceeds n_routed_experts"), std::string::npos);
  EXPECT_NE(error_of(with("mlp_hidden_act", "gelu")).find("'mlp_hidden_act' must be 'relu2'"), std::string::npos);
  EXPECT_NE(error_of(with("n_group", 8)).find("not supported"), std::string::npos);
  EXPECT_NE(error_of(with("model_type", "llama")).find("expected 'nemotron_h'"), std::string::npos);
  EXPECT_NE(error_of(with("eos_token_id", 131072)).find("'eos_token_id'"), std::string::npos);
  EXPECT_NE(error_of(with("ssm_state_size", nullptr)).find("'ssm_state_size' is missing"), std::string::npos);
  EXPECT_NE(error_of(with("tie_word_embeddings", true)).find("not supported"), std::string::npos);
}

TEST(Config, MissingFileNamesIt) {
  try {
    load_config("/nonexistent/config.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/config.json"), std::string::npos);
  }
}

}  // namespace
}  // namespace tt
