// config.json parsing and validation for NemotronH / TwoTower checkpoints.
#include "model/config.hpp"

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "model/error.hpp"

namespace tt {
namespace {

using nlohmann::json;

// Python's json.dumps writes Infinity / NaN (HF configs hold time_step_limit =
// [0.0, inf]); strict JSON parsers reject them. Replace them outside strings.
std::string sanitize_non_finite(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < text.size()) {
        out += text[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      out += c;
    } else if (text.compare(i, 8, "Infinity") == 0) {
      out += "3e38";  // beyond any real value; read back as infinite
      i += 7;
    } else if (text.compare(i, 3, "NaN") == 0) {
      out += "null";
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

class Reader {
public:
  Reader(const json& j, const std::string& path) : j_(j), path_(path) {}

  template <class T>
  void required(const char* key, T& out) const {
    if (!j_.contains(key)) fail(key, "is missing");
    get(key, out);
  }
  template <class T>
  void optional(const char* key, T& out) const {
    if (j_.contains(key) && !j_.at(key).is_null()) get(key, out);
  }
  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw Error(path_ + ": field '" + key + "' " + what);
  }
  bool has(const char* key) const { return j_.contains(key) && !j_.at(key).is_null(); }
  const json& at(const char* key) const { return j_.at(key); }

private:
  void get(const char* key, int& out) const {
    const json& v = j_.at(key);
    if (!v.is_number_integer()) fail(key, "must be an integer");
    long long x = v.get<long long>();
    if (x < std::numeric_limits<int>::min() || x > std::numeric_limits<int>::max())
      fail(key, "is out of range");
    out = static_cast<int>(x);
  }
  void get(const char* key, float& out) const {
    const json& v = j_.at(key);
    if (!v.is_number()) fail(key, "must be a number");
    out = v.get<float>();
  }
  void get(const char* key, bool& out) const {
    const json& v = j_.at(key);
    if (!v.is_boolean()) fail(key, "must be true or false");
    out = v.get<bool>();
  }
  void get(const char* key, std::string& out) const {
    const json& v = j_.at(key);
    if (!v.is_string()) fail(key, "must be a string");
    out = v.get<std::string>();
  }
  void get(const char* key, std::vector<std::string>& out) const {
    const json& v = j_.at(key);
    if (!v.is_array()) fail(key, "must be an array of strings");
    out.clear();
    for (const auto& e : v) {
      if (!e.is_string()) fail(key, "must be an array of strings");
      out.push_back(e.get<std::string>());
    }
  }

  const json& j_;
  const std::string& path_;
};

void require_positive(const Reader& r, const char* key, int value) {
  if (value <= 0) r.fail(key, "must be positive (got " + std::to_string(value) + ")");
}

}  // namespace

int ModelConfig::count(LayerKind kind) const {
  int n = 0;
  for (LayerKind k : layers) n += (k == kind);
  return n;
}

std::vector<LayerKind> parse_layer_pattern(const std::string& pattern, const std::string& where) {
  std::vector<LayerKind> layers;
  layers.reserve(pattern.size());
  for (size_t i = 0; i < pattern.size(); ++i) {
    switch (pattern[i]) {
      case 'M': layers.push_back(LayerKind::mamba); break;
      case '*': layers.push_back(LayerKind::attention); break;
      case 'E': layers.push_back(LayerKind::moe); break;
      case '-': layers.push_back(LayerKind::mlp); break;
      default: {
        // Quote the whole UTF-8 character (lead byte + continuation bytes).
        size_t end = i + 1;
        while (end < pattern.size() && (static_cast<unsigned char>(pattern[end]) & 0xC0) == 0x80) ++end;
        throw Error(where + ": field 'hybrid_override_pattern' has unknown layer character '" +
                    pattern.substr(i, end - i) + "' at position " + std::to_string(i) +
                    " (expected M, *, E or -)");
      }
    }
  }
  return layers;
}

ModelConfig parse_config(const std::string& json_text, const std::string& path) {
  json j;
  try {
    j = json::parse(sanitize_non_finite(json_text));
  } catch (const json::exception& e) {
    throw Error(path + ": malformed JSON (" + std::string(e.what()) + ")");
  }
  if (!j.is_object()) throw Error(path + ": expected a JSON object");

  ModelConfig c;
  c.path = path;
  Reader r(j, path);
  r.optional("architectures", c.architectures);
  r.optional("model_type", c.model_type);
  if (!c.model_type.empty() && c.model_type != "nemotron_h")
    r.fail("model_type", "is '" + c.model_type + "', expected 'nemotron_h'");
  r.required("vocab_size", c.vocab_size);
  r.required("hidden_size", c.hidden_size);
  r.required("num_hidden_layers", c.num_hidden_layers);
  r.required("hybrid_override_pattern", c.hybrid_override_pattern);
  require_positive(r, "vocab_size", c.vocab_size);
  require_positive(r, "hidden_size", c.hidden_size);
  require_positive(r, "num_hidden_layers", c.num_hidden_layers);
  c.layers = parse_layer_pattern(c.hybrid_override_pattern, path);
  if (static_cast<int>(c.layers.size()) != c.num_hidden_layers)
    r.fail("hybrid_override_pattern", "has " + std::to_string(c.layers.size()) +
                                          " layers but num_hidden_layers is " +
                                          std::to_string(c.num_hidden_layers));

  r.optional("layer_norm_epsilon", c.layer_norm_epsilon);
  if (!r.has("layer_norm_epsilon")) r.optional("norm_eps", c.layer_norm_epsilon);
  if (!(c.layer_norm_epsilon > 0.0f)) r.fail("layer_norm_epsilon", "must be positive");
  r.optional("residual_in_fp32", c.residual_in_fp32);
  r.optional("tie_word_embeddings", c.tie_word_embeddings);
  if (c.tie_word_embeddings) r.fail("tie_word_embeddings", "true is not supported (TwoTower heads are untied)");
  r.optional("rope_theta", c.rope_theta);
  r.optional("bos_token_id", c.bos_token_id);
  r.optional("eos_token_id", c.eos_token_id);
  r.optional("pad_token_id", c.pad_token_id);
  r.optional("mask_token_id", c.mask_token_id);
  r.optional("torch_dtype", c.torch_dtype);
  for (auto [key, id] : {std::pair{"eos_token_id", c.eos_token_id}, {"mask_token_id", c.mask_token_id}}) {
    if (id < 0 || id >= c.vocab_size) r.fail(key, "must be a token id below vocab_size");
  }

  if (c.count(LayerKind::attention) > 0) {
    r.required("num_attention_heads", c.num_attention_heads);
    r.required("num_key_value_heads", c.num_key_value_heads);
    require_positive(r, "num_attention_heads", c.num_attention_heads);
    require_positive(r, "num_key_value_heads", c.num_key_value_heads);
    if (r.has("head_dim")) {
      r.required("head_dim", c.head_dim);
    } else {
      c.head_dim = c.hidden_size / c.num_attention_heads;
    }
    require_positive(r, "head_dim", c.head_dim);
    if (c.num_attention_heads % c.num_key_value_heads != 0)
      r.fail("num_key_value_heads", "must divide num_attention_heads");
    r.optional("attention_bias", c.attention_bias);
    if (c.attention_bias) r.fail("attention_bias", "true is not supported");
  }
  r.optional("max_position_embeddings", c.max_position_embeddings);
  if (r.has("max_position_embeddings")) require_positive(r, "max_position_embeddings", c.max_position_embeddings);

  if (c.count(LayerKind::mamba) > 0) {
    r.required("mamba_num_heads", c.mamba_num_heads);
    r.required("mamba_head_dim", c.mamba_head_dim);
    r.required("n_groups", c.n_groups);
    r.required("ssm_state_size", c.ssm_state_size);
    r.required("conv_kernel", c.conv_kernel);
    require_positive(r, "mamba_num_heads", c.mamba_num_heads);
    require_positive(r, "mamba_head_dim", c.mamba_head_dim);
    require_positive(r, "n_groups", c.n_groups);
    require_positive(r, "ssm_state_size", c.ssm_state_size);
    require_positive(r, "conv_kernel", c.conv_kernel);
    if (c.mamba_num_heads % c.n_groups != 0) r.fail("n_groups", "must divide mamba_num_heads");
    r.optional("chunk_size", c.chunk_size);
    r.optional("use_conv_bias", c.use_conv_bias);
    r.optional("use_bias", c.use_bias);
    if (c.use_bias) r.fail("use_bias", "true is not supported (in_proj/out_proj have no bias)");
    bool proj_bias = false;
    r.optional("mamba_proj_bias", proj_bias);
    if (proj_bias) r.fail("mamba_proj_bias", "true is not supported");
    r.optional("mamba_hidden_act", c.mamba_hidden_act);
    if (c.mamba_hidden_act != "silu") r.fail("mamba_hidden_act", "must be 'silu'");
    if (r.has("time_step_limit")) {
      const auto& lim = r.at("time_step_limit");
      if (!lim.is_array() || lim.size() != 2 || !lim[0].is_number() || !lim[1].is_number())
        r.fail("time_step_limit", "must be a pair of numbers");
      c.time_step_limit_min = lim[0].get<float>();
      float hi = lim[1].get<float>();
      c.time_step_limit_max = (std::isinf(hi) || hi >= 3e38f) ? 0.0f : hi;
    }
  }

  bool has_mlp = c.count(LayerKind::mlp) > 0;
  bool has_moe = c.count(LayerKind::moe) > 0;
  if (has_mlp || has_moe) {
    r.optional("mlp_hidden_act", c.mlp_hidden_act);
    if (c.mlp_hidden_act != "relu2") r.fail("mlp_hidden_act", "must be 'relu2'");
    r.optional("mlp_bias", c.mlp_bias);
    if (c.mlp_bias) r.fail("mlp_bias", "true is not supported");
  }
  if (has_mlp) {
    r.required("intermediate_size", c.intermediate_size);
    require_positive(r, "intermediate_size", c.intermediate_size);
  } else {
    r.optional("intermediate_size", c.intermediate_size);
  }
  if (has_moe) {
    r.required("n_routed_experts", c.n_routed_experts);
    r.required("num_experts_per_tok", c.num_experts_per_tok);
    r.required("moe_intermediate_size", c.moe_intermediate_size);
    r.optional("n_shared_experts", c.n_shared_experts);
    r.optional("moe_shared_expert_intermediate_size", c.moe_shared_expert_intermediate_size);
    r.optional("routed_scaling_factor", c.routed_scaling_factor);
    r.optional("n_group", c.n_group);
    r.optional("topk_group", c.topk_group);
    r.optional("norm_topk_prob", c.norm_topk_prob);
    require_positive(r, "n_routed_experts", c.n_routed_experts);
    require_positive(r, "num_experts_per_tok", c.num_experts_per_tok);
    require_positive(r, "moe_intermediate_size", c.moe_intermediate_size);
    if (c.num_experts_per_tok > c.n_routed_experts)
      r.fail("num_experts_per_tok", "exceeds n_routed_experts");
    if (c.n_shared_experts < 0 || c.n_shared_experts > 1)
      r.fail("n_shared_experts", "must be 0 or 1");
    if (c.n_shared_experts == 1) {
      if (!r.has("moe_shared_expert_intermediate_size"))
        r.fail("moe_shared_expert_intermediate_size", "is missing");
      require_positive(r, "moe_shared_expert_intermediate_size",
                       c.moe_shared_expert_intermediate_size);
    }
    if (c.n_group != 1 || c.topk_group != 1)
      r.fail("n_group", "group-limited routing (n_group/topk_group != 1) is not supported");
  }
  return c;
}

ModelConfig load_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open config file");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), path);
}

}  // namespace tt
