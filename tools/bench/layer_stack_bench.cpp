// Times the real-size "M*E" layer stack in the two shapes decoding uses:
// context extension (AR: 1 token per sequence; diffusion: one block per
// sequence after it commits) and a denoiser step (a block per sequence over
// [context K/V ; block], seeded from the cache), then derives tokens/s of AR
// and of diffusion for several commit rates, per layer and extrapolated to 52.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <set>

#include "kernels/cpu/moe_router.hpp"
#include "kernels/cpu/norm.hpp"
#include "kernels/cpu/time_embedding.hpp"
#include "model/cache.hpp"
#include "model/error.hpp"
#include "model/tower.hpp"
#include "tools/bench/layer_stack.hpp"

namespace tt::bench {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

constexpr const char* kFullPattern = "MEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEMEM*EMEMEMEME";
constexpr LayerKind kKinds[] = {LayerKind::mamba, LayerKind::attention, LayerKind::moe, LayerKind::mlp};

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

const char* kind_name(LayerKind k) {
  switch (k) {
    case LayerKind::mamba: return "mamba";
    case LayerKind::attention: return "attention";
    case LayerKind::moe: return "moe";
    case LayerKind::mlp: return "mlp";
  }
  return "?";
}

// One timed forward shape at one batch size.
struct Measured {
  int tokens_per_sequence = 0;
  int rows = 0;
  int reps = 0;
  double seconds = 0;  // mean per forward
  double best = 0;
  std::vector<double> layer_seconds;  // mean per forward, per layer
  double other_seconds = 0;           // embedding, final norm
  size_t weight_bytes = 0;            // packed weight bytes the forward reads
  std::vector<int> experts_touched;   // distinct routed experts, per MoE layer
  size_t cache_bytes = 0;             // context K/V and Mamba state read

  // Mean seconds of one layer of `kind` (0 when the stack has none).
  double kind_seconds(const ModelConfig& c, LayerKind kind) const {
    double s = 0;
    int n = 0;
    for (size_t i = 0; i < c.layers.size(); ++i)
      if (c.layers[i] == kind) s += layer_seconds[i], ++n;
    return n ? s / n : 0.0;
  }
  // Per-forward weight bytes of one layer of `kind`, as measured (MoE: experts touched here).
  double kind_bytes(const TowerWeights& w, LayerKind kind, size_t moe_fixed) const {
    double s = 0;
    int n = 0, moe_i = 0;
    for (const LayerWeights& lw : w.layers) {
      double b = 0;
      if (lw.kind == LayerKind::moe) {
        b = static_cast<double>(moe_fixed) + experts_touched[moe_i++] * static_cast<double>(
            lw.moe.experts[0].up.w.bytes() + lw.moe.experts[0].down.w.bytes());
      } else {
        b = static_cast<double>(layer_weight_bytes(lw));
      }
      if (lw.kind == kind) s += b, ++n;
    }
    return n ? s / n : 0.0;
  }
};

class StackBench {
public:
  StackBench(const SyntheticTower& t, const LayerStackOptions& o)
      : t_(t), o_(o), tower_(t.config, t.weights), template_(t.config) {
    const ModelConfig& c = t.config;
    const int L = static_cast<int>(c.layers.size()), H = c.hidden_size;
    modulation_.resize(static_cast<size_t>(L) * 3 * H);
    for (int l = 0; l < L; ++l)
      for (int j = 0; j < H; ++j) {
        float* m = &modulation_[static_cast<size_t>(l) * 3 * H];
        m[j] = 0.02f * std::sin(0.37f * j + l);           // shift
        m[H + j] = 0.1f * std::cos(0.11f * j + 2.0f * l);  // scale
        m[2 * H + j] = 1.0f;                               // gate
      }
  }

  // Fills the template cache with `n` context tokens (chunks of 1024).
  json prefill(int n) {
    std::vector<int32_t> toks(n);
    for (int i = 0; i < n; ++i) toks[i] = token(7, i);
    const auto t0 = Clock::now();
    for (int p = 0; p < n; p += 1024) {
      TowerItem it{std::span<const int32_t>(toks).subspan(p, std::min(1024, n - p)), &template_, nullptr, nullptr, true};
      tower_.forward({&it, 1}, hidden_);
    }
    const double s = since(t0);
    check_finite("prefill");
    return {{"context_tokens", n}, {"seconds", s}, {"tokens_per_second", n / s}};
  }

  void set_batch(int b) {
    caches_.clear();
    caches_.reserve(b);
    for (int i = 0; i < b; ++i) caches_.push_back(template_);
  }

  // Context-tower shape: `n` new tokens per sequence appended to its cache (restored after).
  Measured extend(int n) {
    const int b = static_cast<int>(caches_.size());
    tokens_.assign(b, {});
    std::vector<TowerItem> items;
    for (int i = 0; i < b; ++i) {
      for (int j = 0; j < n; ++j) tokens_[i].push_back(token(1000 + i, j));
      items.push_back(TowerItem{tokens_[i], &caches_[i], nullptr, nullptr, true});
    }
    return measure(items, [this] { restore(); });
  }

  // Denoiser shape: a block per sequence over [context K/V ; block], not causal, modulated.
  Measured denoise(int n) {
    const int b = static_cast<int>(caches_.size());
    const int32_t mask = t_.config.mask_token_id;
    views_.clear();  // extensions may have moved the K/V storage
    for (const auto& c : caches_) views_.push_back(view_of(c));
    tokens_.assign(b, {});
    std::vector<TowerItem> items;
    for (int i = 0; i < b; ++i) {
      for (int j = 0; j < n; ++j) tokens_[i].push_back(j % 2 ? token(2000 + i, j) : mask);
      items.push_back(TowerItem{tokens_[i], nullptr, &views_[i], modulation_.data(), false});
    }
    return measure(items, [] {});
  }

private:
  int32_t token(int stream, int i) const {
    const uint32_t h = static_cast<uint32_t>(stream) * 2654435761u ^ static_cast<uint32_t>(i) * 40503u;
    return 4 + static_cast<int32_t>((h ^ (h >> 15)) % static_cast<uint32_t>(t_.config.vocab_size - 4));
  }

  // Puts every cache back to the template's length and state (K/V capacity kept).
  void restore() {
    const size_t L = template_.length();
    for (auto& c : caches_) {
      for (int s = 0; s < c.attention_slots(); ++s) {
        const size_t w = template_.kv(s).k.size() / std::max<size_t>(1, L);
        c.kv(s).k.resize(L * w);
        c.kv(s).v.resize(L * w);
      }
      for (int s = 0; s < c.mamba_slots(); ++s) c.mamba(s) = template_.mamba(s);
      c.set_length(static_cast<int>(L));
    }
  }

  void check_finite(const char* what) const {
    for (float v : hidden_)
      if (!std::isfinite(v)) throw Error(std::string("layer stack: non-finite activations after ") + what);
  }

  Measured measure(const std::vector<TowerItem>& items, const std::function<void()>& restore_fn) {
    const ModelConfig& c = t_.config;
    const int L = static_cast<int>(c.layers.size());
    Measured m;
    m.tokens_per_sequence = static_cast<int>(items[0].tokens.size());
    for (const auto& it : items) m.rows += static_cast<int>(it.tokens.size());
    for (const auto& it : items) m.cache_bytes += cache_bytes(it);

    // Untimed first pass (also sizes workspaces and K/V capacity): counts the routed experts.
    int call = 0;
    m.weight_bytes = 0;
    const DumpFn count = [&](const std::string&, const float* h, int rows, int) {
      const int layer = call++;  // call j sees the input of layer j
      if (layer < L && c.layers[layer] == LayerKind::moe) m.experts_touched.push_back(route(items, layer, h, rows));
    };
    auto t_first = Clock::now();
    tower_.forward(items, hidden_, count);
    const double first = since(t_first);
    check_finite("a forward");
    restore_fn();
    int moe_i = 0;
    for (const LayerWeights& lw : t_.weights.layers) {
      if (lw.kind != LayerKind::moe) {
        m.weight_bytes += layer_weight_bytes(lw);
        continue;
      }
      m.weight_bytes += moe_fixed_bytes(lw.moe) +
                        m.experts_touched[moe_i++] * (lw.moe.experts[0].up.w.bytes() + lw.moe.experts[0].down.w.bytes());
    }

    // Timed passes; a timestamp after the embedding and after every layer.
    std::vector<Clock::time_point> marks;
    marks.reserve(L + 2);
    const DumpFn mark = [&](const std::string&, const float*, int, int) { marks.push_back(Clock::now()); };
    m.layer_seconds.assign(L, 0.0);
    const int min_reps = first * 2 < o_.seconds_per_measurement ? 2 : 1;
    double total = 0;
    m.best = 1e30;
    while (m.reps < min_reps || (total < o_.seconds_per_measurement && m.reps < o_.max_reps)) {
      marks.clear();
      const auto t0 = Clock::now();
      tower_.forward(items, hidden_, mark);
      const auto t1 = Clock::now();
      const double s = std::chrono::duration<double>(t1 - t0).count();
      total += s;
      m.best = std::min(m.best, s);
      for (int l = 0; l < L; ++l) m.layer_seconds[l] += std::chrono::duration<double>(marks[l + 1] - marks[l]).count();
      m.other_seconds += std::chrono::duration<double>(marks[0] - t0).count() +
                         std::chrono::duration<double>(t1 - marks[L]).count();
      ++m.reps;
      restore_fn();
    }
    m.seconds = total / m.reps;
    for (double& s : m.layer_seconds) s /= m.reps;
    m.other_seconds /= m.reps;
    return m;
  }

  // Distinct routed experts the MoE layer `layer` picks for these rows (h = its input).
  int route(const std::vector<TowerItem>& items, int layer, const float* h, int rows) {
    const ModelConfig& c = t_.config;
    const LayerWeights& lw = t_.weights.layers[layer];
    const int H = c.hidden_size;
    u_.resize(static_cast<size_t>(rows) * H);
    int r0 = 0;
    for (const auto& it : items) {
      const int n = static_cast<int>(it.tokens.size());
      float* u = &u_[static_cast<size_t>(r0) * H];
      cpu::rms_norm(h + static_cast<size_t>(r0) * H, lw.norm.data(), u, n, H, c.layer_norm_epsilon);
      if (it.modulation) {  // E layers modulate after the norm
        const float* mod = it.modulation + static_cast<size_t>(layer) * 3 * H;
        cpu::modulate(u, mod, mod + H, u, n, H);
      }
      r0 += n;
    }
    std::vector<int> experts(static_cast<size_t>(rows) * c.num_experts_per_tok);
    std::vector<float> weights(experts.size());
    const cpu::RouterShape shape{c.n_routed_experts, c.num_experts_per_tok, c.routed_scaling_factor, c.norm_topk_prob};
    cpu::moe_route(u_.data(), rows, H, lw.moe.gate_w.data(), lw.moe.gate_bias.data(), shape, experts.data(),
                   weights.data());
    return static_cast<int>(std::set<int>(experts.begin(), experts.end()).size());
  }

  size_t cache_bytes(const TowerItem& it) const {
    const ModelConfig& c = t_.config;
    const size_t len = it.cache ? it.cache->length() : it.seed->length;
    const size_t kv = len * c.num_key_value_heads * c.head_dim * 2 * sizeof(float);
    const size_t mamba = (static_cast<size_t>(c.conv_kernel - 1) * c.conv_dim() +
                          static_cast<size_t>(c.mamba_num_heads) * c.mamba_head_dim * c.ssm_state_size) * sizeof(float);
    return kv * c.count(LayerKind::attention) + mamba * c.count(LayerKind::mamba);
  }

public:
  static size_t moe_fixed_bytes(const MoeWeights& w) {
    size_t n = w.gate_w.size() * sizeof(float);
    if (w.shared) n += w.shared->up.w.bytes() + w.shared->down.w.bytes();
    return n;
  }

private:
  const SyntheticTower& t_;
  const LayerStackOptions& o_;
  Tower tower_;
  SequenceCache template_;
  std::vector<SequenceCache> caches_;
  std::vector<CacheView> views_;
  std::vector<std::vector<int32_t>> tokens_;
  std::vector<float> modulation_, hidden_, u_;
};

json measured_json(const Measured& m, const ModelConfig& c) {
  json per_kind = json::object();
  for (LayerKind k : kKinds)
    if (c.count(k) > 0) per_kind[kind_name(k)] = m.kind_seconds(c, k);
  return {{"tokens_per_sequence", m.tokens_per_sequence},
          {"rows", m.rows},
          {"reps", m.reps},
          {"seconds_per_forward", m.seconds},
          {"best_seconds_per_forward", m.best},
          {"seconds_per_layer", per_kind},
          {"seconds_outside_layers", m.other_seconds},
          {"weight_bytes_read", m.weight_bytes},
          {"routed_experts_touched", m.experts_touched},
          {"cache_bytes_read", m.cache_bytes}};
}

// Per-forward seconds and weight bytes of the full 52-layer pattern from per-layer-kind measurements.
struct Full {
  double seconds = 0, bytes = 0;
};
Full extrapolate(const Measured& m, const SyntheticTower& t, const ModelConfig& full) {
  Full f;
  f.seconds = m.other_seconds;
  size_t moe_fixed = 0;
  for (const auto& lw : t.weights.layers)
    if (lw.kind == LayerKind::moe) moe_fixed = StackBench::moe_fixed_bytes(lw.moe);
  for (LayerKind k : kKinds) {
    const int n = full.count(k);
    if (n == 0) continue;
    if (t.config.count(k) == 0) throw Error(std::string("layer stack: no ") + kind_name(k) + " layer to extrapolate from");
    f.seconds += n * m.kind_seconds(t.config, k);
    f.bytes += n * m.kind_bytes(t.weights, k, moe_fixed);
  }
  return f;
}

// AR vs diffusion at one batch size from the three measured shapes (per-forward
// seconds and weight bytes, either of the stack or extrapolated).
json compare(int b, int S, const std::vector<double>& ks, double ar_s, double ar_bytes, double ctx_s,
             double ctx_bytes, double den_s, double den_bytes) {
  const double ar_tps = b / ar_s;
  json out;
  out["ar"] = {{"seconds_per_forward", ar_s},
               {"tokens_per_second", ar_tps},
               {"seconds_per_token_per_sequence", ar_s},
               {"weight_bytes_per_token", ar_bytes / b}};
  json diff = json::array();
  for (double k : ks) {
    const double forwards = S / k;
    const double block_s = forwards * den_s + ctx_s;  // one block per sequence, then its context extension
    const double tps = S * b / block_s;
    diff.push_back({{"tokens_per_denoiser_forward", k},
                    {"denoiser_forwards_per_block", forwards},
                    {"seconds_per_block", block_s},
                    {"context_extension_share", ctx_s / block_s},
                    {"tokens_per_second", tps},
                    {"ratio_vs_ar", tps / ar_tps},
                    {"weight_bytes_per_token", (forwards * den_bytes + ctx_bytes) / (S * b)}});
  }
  out["diffusion"] = std::move(diff);
  return out;
}

}  // namespace

json run_layer_stack_bench(const LayerStackOptions& o) {
  if (o.context_tokens < 1) throw Error("layer stack: context tokens must be >= 1");
  for (double k : o.tokens_per_forward)
    if (!(k > 0 && k <= o.block_size)) throw Error("layer stack: tokens per forward must be in (0, block size]");
  const ModelConfig full = real_size_config(kFullPattern, 131072);
  json out;
  out["note"] =
      "layers only: one Mamba-2, one attention and one MoE layer at the 30B model's real sizes (pattern M*E), "
      "random bf16 weights ~N(0, 1/fan_in), vocab 1024; embedding lookup and final norm included, LM head "
      "excluded; random routing spreads tokens over experts more evenly than a trained router may";

  std::fprintf(stderr, "bench: building the real-size M*E layer stack (random bf16 weights)...\n");
  auto t0 = Clock::now();
  auto stack = build_synthetic_tower(real_size_config("M*E", 1024), o.seed);
  const ModelConfig& c = stack->config;
  out["build_seconds"] = since(t0);
  json cfg = {{"pattern", c.hybrid_override_pattern}, {"hidden", c.hidden_size}, {"vocab", c.vocab_size},
              {"mamba", {{"heads", c.mamba_num_heads}, {"head_dim", c.mamba_head_dim}, {"groups", c.n_groups},
                         {"state", c.ssm_state_size}, {"conv", c.conv_kernel}}},
              {"attention", {{"q_heads", c.num_attention_heads}, {"kv_heads", c.num_key_value_heads},
                             {"head_dim", c.head_dim}}},
              {"moe", {{"experts", c.n_routed_experts}, {"top_k", c.num_experts_per_tok},
                       {"expert_width", c.moe_intermediate_size},
                       {"shared_width", c.moe_shared_expert_intermediate_size},
                       {"routed_scaling", c.routed_scaling_factor}}},
              {"weights", "bf16"},
              {"block_size", o.block_size}};
  out["config"] = cfg;
  json wb = json::object();
  size_t total = 0;
  for (const auto& lw : stack->weights.layers) {
    wb[kind_name(lw.kind)] = layer_weight_bytes(lw);
    total += layer_weight_bytes(lw);
  }
  wb["total"] = total;
  out["weight_bytes_held"] = wb;

  StackBench bench(*stack, o);
  std::fprintf(stderr, "bench: prefill of %d context tokens...\n", o.context_tokens);
  out["prefill"] = bench.prefill(o.context_tokens);

  json batches = json::array();
  const int S = o.block_size;
  for (int b : o.batches) {
    std::fprintf(stderr, "bench: layer stack at batch %d...\n", b);
    bench.set_batch(b);
    const Measured ar = bench.extend(1);
    const Measured ctx = bench.extend(S);
    const Measured den = bench.denoise(S);
    json j;
    j["batch"] = b;
    j["ar_step"] = measured_json(ar, c);
    j["context_extension"] = measured_json(ctx, c);
    j["denoiser_step"] = measured_json(den, c);
    j["measured"] = compare(b, S, o.tokens_per_forward, ar.seconds, static_cast<double>(ar.weight_bytes),
                            ctx.seconds, static_cast<double>(ctx.weight_bytes), den.seconds,
                            static_cast<double>(den.weight_bytes));
    const Full far = extrapolate(ar, *stack, full), fctx = extrapolate(ctx, *stack, full),
               fden = extrapolate(den, *stack, full);
    j["extrapolated_52_layers"] =
        compare(b, S, o.tokens_per_forward, far.seconds, far.bytes, fctx.seconds, fctx.bytes, fden.seconds, fden.bytes);
    batches.push_back(std::move(j));
  }
  bench.set_batch(0);
  out["batches"] = std::move(batches);
  out["extrapolation"] = {
      {"pattern", kFullPattern},
      {"layers", {{"mamba", full.count(LayerKind::mamba)}, {"attention", full.count(LayerKind::attention)},
                  {"moe", full.count(LayerKind::moe)}}},
      {"note",
       "extrapolation, not a measurement: per-forward time = sum over the 52 layers of the measured time of one "
       "layer of that kind (+ embedding and final norm); weight bytes likewise, with the measured number of "
       "routed experts per MoE layer; LM head (131072 x 2688, 0.7 GB bf16 per tower) not included"}};
  return out;
}

}  // namespace tt::bench
