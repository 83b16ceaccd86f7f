// Times the real-size "M*E" layer stack in the two shapes decoding uses:
// context extension (AR: 1 token per sequence; diffusion: one block per
// sequence after it commits) and a denoiser step (a block per sequence over
// [context K/V ; block], seeded from the cache), then derives tokens/s of AR
// and of diffusion for several commit rates, per layer and extrapolated to 52.
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
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
  double seconds = 0;  // mean per forward (sum while measuring)
  double best = 0;
  std::vector<double> layer_seconds;  // mean per forward, per layer
  double other_seconds = 0;           // embedding, final norm
  std::vector<double> layer_bytes;    // packed weight bytes each layer reads (MoE: experts routed to)
  size_t weight_bytes = 0;            // their sum
  std::vector<int> experts_touched;   // distinct routed experts, per MoE layer
  size_t cache_bytes = 0;             // context K/V and Mamba state read

  // Mean over the layers of `kind` of a per-layer figure (0 when the stack has none).
  static double kind_mean(const ModelConfig& c, LayerKind kind, const std::vector<double>& per_layer) {
    double s = 0;
    int n = 0;
    for (size_t i = 0; i < c.layers.size(); ++i)
      if (c.layers[i] == kind) s += per_layer[i], ++n;
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

  // The three shapes at the current batch size: context extension by 1 token
  // (AR) and by `n` tokens (diffusion, after a block commits) per sequence,
  // and a denoiser step over an n-token block per sequence. Their timed
  // forwards alternate round by round, so drifting machine load hits all alike.
  std::array<Measured, 3> measure_shapes(int n) {
    const int b = static_cast<int>(caches_.size());
    const int32_t mask = t_.config.mask_token_id;
    std::array<Shape, 3> shapes;
    for (int s = 0; s < 3; ++s) {
      Shape& sh = shapes[s];
      sh.extends = s < 2;
      const int len = s == 0 ? 1 : n;
      sh.tokens.assign(b, {});
      if (!sh.extends) {  // after the extensions' first passes, which may move the K/V storage
        views_.clear();
        for (const auto& c : caches_) views_.push_back(view_of(c));
      }
      for (int i = 0; i < b; ++i) {
        for (int j = 0; j < len; ++j)
          sh.tokens[i].push_back(sh.extends ? token(1000 * (s + 1) + i, j) : (j % 2 ? token(3000 + i, j) : mask));
        sh.items.push_back(sh.extends ? TowerItem{sh.tokens[i], &caches_[i], nullptr, nullptr, true}
                                      : TowerItem{sh.tokens[i], nullptr, &views_[i], modulation_.data(), false});
      }
      first_pass(sh);
    }
    double first = 0;
    for (const Shape& sh : shapes) first += sh.first;
    const double budget = 3 * o_.seconds_per_measurement;
    const int min_rounds = first * 2 < budget ? 2 : 1;
    double elapsed = 0;
    for (int round = 0; round < min_rounds || (elapsed < budget && round < o_.max_reps); ++round)
      for (Shape& sh : shapes) elapsed += timed_pass(sh);
    std::array<Measured, 3> out;
    for (int s = 0; s < 3; ++s) {
      Measured& m = shapes[s].m;
      m.seconds /= m.reps;
      for (double& x : m.layer_seconds) x /= m.reps;
      m.other_seconds /= m.reps;
      out[s] = std::move(m);
    }
    return out;
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

  struct Shape {
    std::vector<std::vector<int32_t>> tokens;
    std::vector<TowerItem> items;
    bool extends = false;  // appends to the caches, which are restored after every forward
    double first = 0;      // seconds of the untimed first pass
    Measured m;
  };

  // Untimed first pass (also sizes workspaces and K/V capacity): counts the
  // routed experts and from them the weight bytes a forward of this shape reads.
  void first_pass(Shape& sh) {
    const ModelConfig& c = t_.config;
    const int L = static_cast<int>(c.layers.size());
    Measured& m = sh.m;
    m.tokens_per_sequence = static_cast<int>(sh.items[0].tokens.size());
    for (const auto& it : sh.items) m.rows += static_cast<int>(it.tokens.size());
    for (const auto& it : sh.items) m.cache_bytes += cache_bytes(it);
    int call = 0;
    const DumpFn count = [&](const std::string&, const float* h, int rows, int) {
      const int layer = call++;  // call j sees the input of layer j
      if (layer < L && c.layers[layer] == LayerKind::moe) m.experts_touched.push_back(route(sh.items, layer, h, rows));
    };
    const auto t0 = Clock::now();
    tower_.forward(sh.items, hidden_, count);
    sh.first = since(t0);
    check_finite("a forward");
    if (sh.extends) restore();
    int moe_i = 0;
    for (const LayerWeights& lw : t_.weights.layers) {
      double bytes = static_cast<double>(layer_weight_bytes(lw));
      if (lw.kind == LayerKind::moe) {  // only the experts the router picked
        const MlpWeights& e = lw.moe.experts[0];
        bytes -= static_cast<double>(lw.moe.experts.size() - m.experts_touched[moe_i++]) *
                 static_cast<double>(e.up.w.bytes() + e.down.w.bytes());
      }
      m.layer_bytes.push_back(bytes);
      m.weight_bytes += static_cast<size_t>(bytes);
    }
    m.layer_seconds.assign(L, 0.0);
    m.best = 1e30;
  }

  // One timed forward, with a timestamp after the embedding and after every layer.
  double timed_pass(Shape& sh) {
    const int L = static_cast<int>(t_.config.layers.size());
    marks_.clear();
    const DumpFn mark = [this](const std::string&, const float*, int, int) { marks_.push_back(Clock::now()); };
    const auto t0 = Clock::now();
    tower_.forward(sh.items, hidden_, mark);
    const auto t1 = Clock::now();
    const double s = std::chrono::duration<double>(t1 - t0).count();
    Measured& m = sh.m;
    m.seconds += s;
    m.best = std::min(m.best, s);
    for (int l = 0; l < L; ++l) m.layer_seconds[l] += std::chrono::duration<double>(marks_[l + 1] - marks_[l]).count();
    m.other_seconds += std::chrono::duration<double>(marks_[0] - t0).count() +
                       std::chrono::duration<double>(t1 - marks_[L]).count();
    ++m.reps;
    if (sh.extends) restore();
    return s;
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

private:
  const SyntheticTower& t_;
  const LayerStackOptions& o_;
  Tower tower_;
  SequenceCache template_;
  std::vector<SequenceCache> caches_;
  std::vector<CacheView> views_;
  std::vector<float> modulation_, hidden_, u_;
  std::vector<Clock::time_point> marks_;
};

json measured_json(const Measured& m, const ModelConfig& c) {
  json per_kind = json::object();
  for (LayerKind k : kKinds)
    if (c.count(k) > 0) per_kind[kind_name(k)] = Measured::kind_mean(c, k, m.layer_seconds);
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
Full extrapolate(const Measured& m, const ModelConfig& stack, const ModelConfig& full) {
  Full f;
  f.seconds = m.other_seconds;
  for (LayerKind k : kKinds) {
    const int n = full.count(k);
    if (n == 0) continue;
    if (stack.count(k) == 0) throw Error(std::string("layer stack: no ") + kind_name(k) + " layer to extrapolate from");
    f.seconds += n * Measured::kind_mean(stack, k, m.layer_seconds);
    f.bytes += n * Measured::kind_mean(stack, k, m.layer_bytes);
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
    const auto [ar, ctx, den] = bench.measure_shapes(S);
    json j;
    j["batch"] = b;
    j["ar_step"] = measured_json(ar, c);
    j["context_extension"] = measured_json(ctx, c);
    j["denoiser_step"] = measured_json(den, c);
    j["measured"] = compare(b, S, o.tokens_per_forward, ar.seconds, static_cast<double>(ar.weight_bytes),
                            ctx.seconds, static_cast<double>(ctx.weight_bytes), den.seconds,
                            static_cast<double>(den.weight_bytes));
    const Full far = extrapolate(ar, c, full), fctx = extrapolate(ctx, c, full),
               fden = extrapolate(den, c, full);
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
