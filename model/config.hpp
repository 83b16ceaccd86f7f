// NemotronH / TwoTower config.json: every field the towers use, validated.
#pragma once

#include <string>
#include <vector>

namespace tt {

enum class LayerKind : char { mamba = 'M', attention = '*', moe = 'E', mlp = '-' };

struct ModelConfig {
  std::string path;  // the file it was read from (for messages)
  std::vector<std::string> architectures;
  std::string model_type;
  int vocab_size = 0;
  int hidden_size = 0;
  int num_hidden_layers = 0;
  std::string hybrid_override_pattern;
  std::vector<LayerKind> layers;  // parsed pattern, one per layer
  // attention
  int num_attention_heads = 0;
  int num_key_value_heads = 0;
  int head_dim = 0;
  bool attention_bias = false;
  int max_position_embeddings = 0;
  // mamba-2
  int mamba_num_heads = 0;
  int mamba_head_dim = 0;
  int n_groups = 0;
  int ssm_state_size = 0;
  int conv_kernel = 0;
  int chunk_size = 0;
  bool use_conv_bias = true;
  bool use_bias = false;
  std::string mamba_hidden_act = "silu";
  float time_step_limit_min = 0.0f;
  float time_step_limit_max = 0.0f;  // 0 = no upper clamp (inf)
  // MLP / MoE
  int intermediate_size = 0;
  std::string mlp_hidden_act = "relu2";
  bool mlp_bias = false;
  int n_routed_experts = 0;
  int n_shared_experts = 0;
  int moe_intermediate_size = 0;
  int moe_shared_expert_intermediate_size = 0;
  int num_experts_per_tok = 0;
  float routed_scaling_factor = 1.0f;
  int n_group = 1;
  int topk_group = 1;
  bool norm_topk_prob = true;
  // misc
  float layer_norm_epsilon = 1e-5f;
  bool residual_in_fp32 = false;
  bool tie_word_embeddings = false;
  float rope_theta = 0.0f;  // present in the release, unused (NemotronH has no RoPE)
  int bos_token_id = 1;
  int eos_token_id = 2;
  int pad_token_id = 0;
  int mask_token_id = 3;  // not in the released config; inference.py's constant
  std::string torch_dtype;

  // Derived sizes.
  int d_inner() const { return mamba_num_heads * mamba_head_dim; }
  int conv_dim() const { return d_inner() + 2 * n_groups * ssm_state_size; }
  int in_proj_dim() const { return d_inner() + conv_dim() + mamba_num_heads; }
  int count(LayerKind kind) const;
};

// Parses and validates; throws tt::Error naming the file and field.
ModelConfig parse_config(const std::string& json_text, const std::string& path);
ModelConfig load_config(const std::string& path);

std::vector<LayerKind> parse_layer_pattern(const std::string& pattern, const std::string& where);

}  // namespace tt
