// The GPU memory plan: pure arithmetic over config.json (see memory_plan.hpp).
#include "model/memory_plan.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "model/error.hpp"

namespace tt {
namespace {

constexpr int64_t kBf16 = 2;
constexpr int64_t kF32 = 4;

int64_t i64(int v) { return static_cast<int64_t>(v); }

struct KindBytes {
  int64_t params = 0;
  int64_t bytes = 0;
  void add_bf16(int64_t n) { params += n, bytes += n * kBf16; }
  void add_f32(int64_t n) { params += n, bytes += n * kF32; }
};

// One layer of a kind, its pre-mixer norm included.
KindBytes layer_bytes(const ModelConfig& c, LayerKind kind) {
  const int64_t H = c.hidden_size;
  KindBytes b;
  b.add_bf16(H);  // layers.i.norm.weight
  switch (kind) {
    case LayerKind::mamba:
      b.add_bf16(i64(c.in_proj_dim()) * H);                          // in_proj
      b.add_bf16(i64(c.conv_dim()) * c.conv_kernel);                 // conv1d.weight
      if (c.use_conv_bias) b.add_bf16(c.conv_dim());                 // conv1d.bias
      b.add_bf16(3 * i64(c.mamba_num_heads));                        // dt_bias, A_log, D
      b.add_bf16(c.d_inner());                                       // gated norm
      b.add_bf16(H * c.d_inner());                                   // out_proj
      break;
    case LayerKind::attention: {
      const int64_t q = i64(c.num_attention_heads) * c.head_dim;
      const int64_t kv = i64(c.num_key_value_heads) * c.head_dim;
      b.add_bf16(q * H + 2 * kv * H + H * q);                        // q, k, v, o
      break;
    }
    case LayerKind::moe:
      b.add_f32(i64(c.n_routed_experts) * H + c.n_routed_experts);   // router weight + bias
      b.add_bf16(i64(c.n_routed_experts) * 2 * c.moe_intermediate_size * H);
      if (c.n_shared_experts > 0) b.add_bf16(2 * i64(c.moe_shared_expert_intermediate_size) * H);
      break;
    case LayerKind::mlp:
      b.add_bf16(2 * i64(c.intermediate_size) * H);
      break;
  }
  return b;
}

int64_t gb_to_bytes(double gb) { return static_cast<int64_t>(std::llround(gb * 1e9)); }

int64_t fit(int64_t free, int64_t per_sequence) {
  return (free <= 0 || per_sequence <= 0) ? 0 : free / per_sequence;
}

GpuPlan make_gpu(int index, std::string role, int64_t capacity, int64_t weights, int64_t reserve,
                 int64_t workspace, int64_t per_sequence) {
  GpuPlan g;
  g.index = index;
  g.role = std::move(role);
  g.capacity = capacity;
  g.weights = weights;
  g.reserve = reserve;
  g.workspace = workspace;
  g.per_sequence = per_sequence;
  g.free_for_cache = capacity - weights - reserve - workspace;
  g.sequences = fit(g.free_for_cache, per_sequence);
  g.fits = g.sequences >= 1;
  return g;
}

struct Placement {
  std::vector<GpuPlan> gpus;
  GpuPlan ar;
  int64_t diffusion = 0;
};

Placement place(const ModelConfig& c, const PlanOptions& o, const TowerBytes& ctx,
                const TowerBytes& den, const CacheBytes& cb, int seq_len) {
  const int64_t cap = gb_to_bytes(o.gpu_memory_gb);
  const int64_t reserve = gb_to_bytes(o.reserve_gb);
  const int64_t mamba = cb.conv_per_sequence + cb.ssm_per_sequence;
  const int64_t kv = i64(seq_len) * cb.kv_per_token;
  const int64_t logits_block = i64(o.block_size) * c.vocab_size * kF32;
  // Context: one prefill chunk of activations + one block of logits (AR / verify).
  const int64_t ctx_ws = i64(o.prefill_chunk) * cb.activation_row + logits_block;
  const int64_t ctx_seq = kv + i64(o.mamba_state_buffers) * mamba;
  // Denoiser, per block in flight: its rows' activations and logits (reduced on
  // device to (token, confidence) pairs), the adaLN table and a working Mamba
  // state for the scan that starts from the read-only seed.
  const int64_t block = i64(o.block_size) * cb.activation_row + logits_block +
                        cb.modulation_per_block + mamba;
  const int64_t den_seq = kv + mamba + block;  // K/V mirror + seed state + block

  Placement p;
  if (o.gpus == 1) {
    // Same GPU: the denoiser reads the context's K/V and a state snapshot in place.
    p.gpus.push_back(make_gpu(0, "context+denoiser", cap, ctx.total + den.total, reserve, ctx_ws,
                              ctx_seq + block));
    p.diffusion = p.gpus[0].sequences;
  } else {
    p.gpus.push_back(make_gpu(0, "context", cap, ctx.total, reserve, ctx_ws, ctx_seq));
    int64_t denoised = 0;
    for (int i = 1; i < o.gpus; ++i) {
      p.gpus.push_back(make_gpu(i, "denoiser", cap, den.total, reserve, 0, den_seq));
      denoised += p.gpus.back().sequences;
    }
    p.diffusion = std::min(p.gpus[0].sequences, denoised);
  }
  p.ar = make_gpu(0, "ar", cap, ctx.total, reserve, ctx_ws, kv + mamba);
  return p;
}

}  // namespace

TowerBytes tower_bytes(const ModelConfig& c, bool denoiser) {
  const int64_t H = c.hidden_size;
  TowerBytes t;
  t.embedding = i64(c.vocab_size) * H * kBf16;
  t.head = t.embedding;
  t.norm_f = H * kBf16;
  t.params = 2 * i64(c.vocab_size) * H + H;
  for (LayerKind k : c.layers) {
    const KindBytes b = layer_bytes(c, k);
    t.params += b.params;
    switch (k) {
      case LayerKind::mamba: t.mamba += b.bytes; break;
      case LayerKind::attention: t.attention += b.bytes; break;
      case LayerKind::moe: t.moe += b.bytes; break;
      case LayerKind::mlp: t.mlp += b.bytes; break;
    }
  }
  if (denoiser) {
    // t_embedder.mlp.0 (256 -> H), mlp.2 (H -> H), t_block.1 (H -> 3H), tables [3, H] per layer.
    const int64_t p = 256 * H + H + H * H + H + 3 * H * H + 3 * H + i64(c.num_hidden_layers) * 3 * H;
    t.params += p;
    t.time_conditioning = p * kBf16;
  }
  t.total = t.embedding + t.head + t.norm_f + t.mamba + t.attention + t.moe + t.mlp + t.time_conditioning;
  return t;
}

CacheBytes cache_bytes(const ModelConfig& c, const PlanOptions& o) {
  CacheBytes b;
  const int64_t H = c.hidden_size;
  const int64_t n_attn = c.count(LayerKind::attention), n_mamba = c.count(LayerKind::mamba);
  b.kv_per_token = n_attn * 2 * c.num_key_value_heads * i64(c.head_dim) * kBf16;
  b.conv_per_sequence = n_mamba * i64(std::max(c.conv_kernel - 1, 0)) * c.conv_dim() * kBf16;
  b.ssm_per_sequence = n_mamba * i64(c.mamba_num_heads) * c.mamba_head_dim * c.ssm_state_size * kF32;
  // Per token row: residual h (fp32) + normed u and mixer output (bf16), plus the
  // largest mixer's intermediates.
  int64_t mixer = 0;
  if (n_mamba > 0)  // in_proj out, conv out (bf16), y (fp32), gated-normed y (bf16)
    mixer = std::max(mixer, i64(c.in_proj_dim()) * kBf16 + i64(c.conv_dim()) * kBf16 +
                                i64(c.d_inner()) * (kF32 + kBf16));
  if (n_attn > 0) {  // q, k, v, attention output (bf16); softmax streams, no score matrix
    const int64_t q = i64(c.num_attention_heads) * c.head_dim;
    mixer = std::max(mixer, (2 * q + 2 * i64(c.num_key_value_heads) * c.head_dim) * kBf16);
  }
  if (c.count(LayerKind::moe) > 0)  // router scores, top-k ids/weights, per-k up (bf16) and down (fp32), shared
    mixer = std::max(mixer, i64(c.n_routed_experts) * kF32 +
                                i64(c.num_experts_per_tok) * (8 + i64(c.moe_intermediate_size) * kBf16 + H * kF32) +
                                i64(c.moe_shared_expert_intermediate_size) * kBf16);
  if (c.count(LayerKind::mlp) > 0) mixer = std::max(mixer, i64(c.intermediate_size) * kBf16);
  b.activation_row = H * kF32 + 2 * H * kBf16 + mixer;
  b.modulation_per_block = i64(c.num_hidden_layers) * 3 * H * kF32;
  (void)o;
  return b;
}

MemoryPlan plan_memory(const ModelConfig& c, const PlanOptions& o) {
  if (o.gpus < 1 || o.gpus > 64) throw Error("--gpus: must be 1..64 (got " + std::to_string(o.gpus) + ")");
  if (!(o.gpu_memory_gb > 0.0) || o.gpu_memory_gb > 1e6) throw Error("--gpu-memory-gb: must be positive");
  if (o.seq_len < 1) throw Error("--seq-len: must be positive (got " + std::to_string(o.seq_len) + ")");
  if (o.block_size < 1 || o.prefill_chunk < 1 || o.mamba_state_buffers < 1 || o.reserve_gb < 0.0)
    throw Error("plan-memory: block size, prefill chunk and state buffers must be positive");
  MemoryPlan p;
  p.options = o;
  p.context = tower_bytes(c, false);
  p.denoiser = tower_bytes(c, true);
  p.cache = cache_bytes(c, o);
  Placement pl = place(c, o, p.context, p.denoiser, p.cache, o.seq_len);
  p.gpus = pl.gpus;
  p.ar_only = pl.ar;
  p.diffusion_sequences = pl.diffusion;
  std::set<int> lengths = {1024, 4096, 16384, 65536, 262144, o.seq_len};
  for (int len : lengths) {
    if (c.max_position_embeddings > 0 && len > c.max_position_embeddings && len != o.seq_len) continue;
    Placement l = place(c, o, p.context, p.denoiser, p.cache, len);
    p.by_length.push_back({len, l.diffusion, l.ar.sequences});
  }
  return p;
}

}  // namespace tt
