// Builds the 30B model's layer shapes in memory with random bf16 weights.
// Contents only need to keep activations finite and routing realistic in
// spread, so packed panels are filled directly with random values: the same
// distribution as packing a random row-major matrix, without the shuffle.
#include "tools/bench/layer_stack.hpp"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/gemm.hpp"
#include "kernels/cpu/thread_pool.hpp"

namespace tt::bench {
namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Round to nearest even; inputs are finite.
inline uint16_t to_bf16(float f) {
  uint32_t u;
  __builtin_memcpy(&u, &f, 4);
  return static_cast<uint16_t>((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

// Deterministic stream per (seed, tensor id): draw i is splitmix64 of a counter.
struct Stream {
  uint64_t base;
  uint64_t bits(uint64_t i) const { return splitmix64(base + i * 0xD1B54A32D192ED03ull); }
  double uniform(uint64_t i) const { return (static_cast<double>(bits(i) >> 11) + 0.5) * 0x1.0p-53; }  // (0, 1)
};

class Filler {
public:
  // Normal variates come from a table of 65536 N(0, 1) draws (Box-Muller)
  // indexed by 16 random bits: four values per 64-bit draw, so the 1.4 G
  // weights of the stack fill in about a second.
  explicit Filler(uint64_t seed) : seed_(seed), table_(1 << 16) {
    const Stream st = next();
    constexpr double kTwoPi = 6.283185307179586;
    for (size_t i = 0; i < table_.size(); i += 2) {
      const double r = std::sqrt(-2.0 * std::log(st.uniform(i))), a = kTwoPi * st.uniform(i + 1);
      table_[i] = static_cast<float>(r * std::cos(a));
      table_[i + 1] = static_cast<float>(r * std::sin(a));
    }
  }

  Stream next() { return Stream{splitmix64(seed_ ^ splitmix64(++tensor_))}; }

  // A bf16 linear layer [n, k] in packed form, values ~N(0, 1/k).
  Linear linear(int n, int k) {
    Linear l;
    cpu::PackedWeight& pw = l.w;
    pw.n = n;
    pw.k = k;
    pw.type = cpu::WeightType::bf16;
    const int panels = (n + cpu::kGemmPanel - 1) / cpu::kGemmPanel;
    const size_t per_panel = static_cast<size_t>(k) * cpu::kGemmPanel;  // a multiple of 4
    pw.bf16.resize(per_panel * panels);
    const Stream st = next();
    const float scale = 1.0f / std::sqrt(static_cast<float>(k));
    // Panel p holds, for kk = 0..k-1, columns p*16 .. p*16+15 contiguously; zero past n.
    cpu::ThreadPool::global().parallel_for(panels, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        const int valid = std::min(cpu::kGemmPanel, n - static_cast<int>(p) * cpu::kGemmPanel);
        uint16_t* dst = &pw.bf16[static_cast<size_t>(p) * per_panel];
        for (size_t i = 0; i < per_panel; i += 4) {
          const uint64_t b = st.bits((static_cast<uint64_t>(p) * per_panel + i) / 4);
          for (int q = 0; q < 4; ++q) dst[i + q] = to_bf16(table_[(b >> (16 * q)) & 0xFFFF] * scale);
        }
        if (valid < cpu::kGemmPanel)
          for (size_t i = 0; i < per_panel; ++i)
            if (static_cast<int>(i % cpu::kGemmPanel) >= valid) dst[i] = 0;
      }
    });
    return l;
  }

  std::vector<float> normal(size_t n, float std) {
    const Stream st = next();
    std::vector<float> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = table_[st.bits(i) & 0xFFFF] * std;
    return v;
  }

  std::vector<float> uniform(size_t n, float lo, float hi) {
    const Stream st = next();
    std::vector<float> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = lo + (hi - lo) * static_cast<float>(st.uniform(i));
    return v;
  }

private:
  uint64_t seed_;
  uint64_t tensor_ = 0;
  std::vector<float> table_;
};

MambaWeights mamba(const ModelConfig& c, Filler& f) {
  MambaWeights m;
  const int nh = c.mamba_num_heads, C = c.conv_dim();
  m.in_proj = f.linear(c.in_proj_dim(), c.hidden_size);
  m.out_proj = f.linear(c.hidden_size, c.d_inner());
  m.conv_w = f.normal(static_cast<size_t>(C) * c.conv_kernel, 1.0f / std::sqrt(static_cast<float>(c.conv_kernel)));
  m.conv_b.assign(C, 0.0f);
  // As Mamba-2 initialises them: A in [1, 16], dt in [0.001, 0.1] log-uniform.
  m.A_log = f.uniform(nh, 1.0f, 16.0f);
  for (float& a : m.A_log) a = std::log(a);
  m.dt_bias = f.uniform(nh, std::log(0.001f), std::log(0.1f));
  for (float& d : m.dt_bias) d = std::log(std::expm1(std::exp(d)));  // inverse softplus
  m.D.assign(nh, 1.0f);
  m.norm_w.assign(c.d_inner(), 1.0f);
  return m;
}

AttentionWeights attention(const ModelConfig& c, Filler& f) {
  AttentionWeights a;
  const int H = c.hidden_size, qd = c.num_attention_heads * c.head_dim, kvd = c.num_key_value_heads * c.head_dim;
  a.q = f.linear(qd, H);
  a.k = f.linear(kvd, H);
  a.v = f.linear(kvd, H);
  a.o = f.linear(H, qd);
  return a;
}

MlpWeights mlp(int hidden, int width, Filler& f) {
  MlpWeights m;
  m.up = f.linear(width, hidden);
  m.down = f.linear(hidden, width);
  return m;
}

MoeWeights moe(const ModelConfig& c, Filler& f) {
  MoeWeights m;
  const int H = c.hidden_size;
  m.gate_w = f.normal(static_cast<size_t>(c.n_routed_experts) * H, 1.0f / std::sqrt(static_cast<float>(H)));
  m.gate_bias.assign(c.n_routed_experts, 0.0f);
  m.experts.reserve(c.n_routed_experts);
  for (int e = 0; e < c.n_routed_experts; ++e) m.experts.push_back(mlp(H, c.moe_intermediate_size, f));
  if (c.n_shared_experts > 0) m.shared = mlp(H, c.moe_shared_expert_intermediate_size * c.n_shared_experts, f);
  return m;
}

size_t mlp_bytes(const MlpWeights& m) { return m.up.w.bytes() + m.down.w.bytes(); }

}  // namespace

ModelConfig real_size_config(const std::string& pattern, int vocab) {
  ModelConfig c;
  c.path = "(in-memory 30B layer shapes)";
  c.model_type = "nemotron_h";
  c.vocab_size = vocab;
  c.hidden_size = 2688;
  c.hybrid_override_pattern = pattern;
  c.layers = parse_layer_pattern(pattern, "layer stack pattern");
  c.num_hidden_layers = static_cast<int>(c.layers.size());
  c.num_attention_heads = 32;
  c.num_key_value_heads = 2;
  c.head_dim = 128;
  c.max_position_embeddings = 1 << 20;
  c.mamba_num_heads = 64;
  c.mamba_head_dim = 64;
  c.n_groups = 8;
  c.ssm_state_size = 128;
  c.conv_kernel = 4;
  c.chunk_size = 128;
  c.intermediate_size = 1856;
  c.n_routed_experts = 128;
  c.n_shared_experts = 1;
  c.moe_intermediate_size = 1856;
  c.moe_shared_expert_intermediate_size = 3712;
  c.num_experts_per_tok = 6;
  c.routed_scaling_factor = 2.5f;
  c.norm_topk_prob = true;
  c.layer_norm_epsilon = 1e-5f;
  c.torch_dtype = "bfloat16";
  return c;
}

std::unique_ptr<SyntheticTower> build_synthetic_tower(const ModelConfig& config, uint64_t seed) {
  auto t = std::make_unique<SyntheticTower>();
  t->config = config;
  const ModelConfig& c = t->config;
  const int H = c.hidden_size;
  Filler f(seed);

  const std::vector<float> table = f.normal(static_cast<size_t>(c.vocab_size) * H, 1.0f);
  t->embed_bf16.resize(table.size());
  for (size_t i = 0; i < table.size(); ++i) t->embed_bf16[i] = to_bf16(table[i]);
  t->embed_view.name = "embeddings";
  t->embed_view.dtype = DType::bf16;
  t->embed_view.shape = {c.vocab_size, H};
  t->embed_view.data = reinterpret_cast<const uint8_t*>(t->embed_bf16.data());
  t->embed_view.nbytes = t->embed_bf16.size() * sizeof(uint16_t);
  t->weights.embed = Embedding{&t->embed_view, c.vocab_size, H};

  for (LayerKind kind : c.layers) {
    LayerWeights lw;
    lw.kind = kind;
    lw.norm.assign(H, 1.0f);
    switch (kind) {
      case LayerKind::mamba: lw.mamba = mamba(c, f); break;
      case LayerKind::attention: lw.attn = attention(c, f); break;
      case LayerKind::moe: lw.moe = moe(c, f); break;
      case LayerKind::mlp: lw.mlp = mlp(H, c.intermediate_size, f); break;
    }
    t->weights.layers.push_back(std::move(lw));
  }
  t->weights.norm_f.assign(H, 1.0f);
  return t;
}

size_t layer_weight_bytes(const LayerWeights& layer) {
  switch (layer.kind) {
    case LayerKind::mamba: return layer.mamba.in_proj.w.bytes() + layer.mamba.out_proj.w.bytes();
    case LayerKind::attention:
      return layer.attn.q.w.bytes() + layer.attn.k.w.bytes() + layer.attn.v.w.bytes() + layer.attn.o.w.bytes();
    case LayerKind::mlp: return mlp_bytes(layer.mlp);
    case LayerKind::moe: {
      size_t n = layer.moe.gate_w.size() * sizeof(float);
      for (const auto& e : layer.moe.experts) n += mlp_bytes(e);
      if (layer.moe.shared) n += mlp_bytes(*layer.moe.shared);
      return n;
    }
  }
  return 0;
}

}  // namespace tt::bench
