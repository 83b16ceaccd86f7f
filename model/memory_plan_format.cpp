// JSON and human-readable renderings of a MemoryPlan.
#include <cstdio>
#include <string>

#include "model/memory_plan.hpp"

namespace tt {
namespace {

nlohmann::json tower_json(const TowerBytes& t) {
  return {{"params", t.params},         {"bytes", t.total},     {"embedding", t.embedding},
          {"head", t.head},             {"norm_f", t.norm_f},   {"mamba_layers", t.mamba},
          {"attention_layers", t.attention}, {"moe_layers", t.moe}, {"mlp_layers", t.mlp},
          {"time_conditioning", t.time_conditioning}};
}

nlohmann::json gpu_json(const GpuPlan& g) {
  return {{"gpu", g.index},         {"role", g.role},         {"capacity", g.capacity},
          {"weights", g.weights},   {"reserve", g.reserve},   {"workspace", g.workspace},
          {"per_sequence", g.per_sequence}, {"free_for_cache", g.free_for_cache},
          {"sequences", g.sequences}, {"fits", g.fits}};
}

std::string gb(int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GB", static_cast<double>(bytes) / 1e9);
  return buf;
}

std::string mb(int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f MB", static_cast<double>(bytes) / 1e6);
  return buf;
}

}  // namespace

nlohmann::json to_json(const MemoryPlan& p) {
  const PlanOptions& o = p.options;
  nlohmann::json gpus = nlohmann::json::array();
  for (const GpuPlan& g : p.gpus) gpus.push_back(gpu_json(g));
  nlohmann::json lengths = nlohmann::json::array();
  for (const LengthRow& r : p.by_length)
    lengths.push_back({{"seq_len", r.seq_len}, {"diffusion_sequences", r.diffusion_sequences},
                       {"ar_sequences", r.ar_sequences}});
  return {
      {"units", "bytes; GB = 1e9 bytes"},
      {"options", {{"gpus", o.gpus}, {"gpu_memory_gb", o.gpu_memory_gb}, {"seq_len", o.seq_len},
                   {"block_size", o.block_size}, {"prefill_chunk", o.prefill_chunk},
                   {"mamba_state_buffers", o.mamba_state_buffers}, {"reserve_gb", o.reserve_gb}}},
      {"weights", {{"dtype", "bf16 (MoE router weight and bias fp32)"},
                   {"context_tower", tower_json(p.context)},
                   {"denoiser_tower", tower_json(p.denoiser)}}},
      {"cache", {{"kv_bytes_per_token", p.cache.kv_per_token},
                 {"conv_state_bytes_per_sequence", p.cache.conv_per_sequence},
                 {"ssm_state_bytes_per_sequence", p.cache.ssm_per_sequence}}},
      {"workspace", {{"activation_bytes_per_row", p.cache.activation_row},
                     {"modulation_bytes_per_block", p.cache.modulation_per_block}}},
      {"placement", gpus},
      {"diffusion_sequences", p.diffusion_sequences},
      {"fits", p.diffusion_sequences >= 1},
      {"ar_only", gpu_json(p.ar_only)},
      {"by_length", lengths},
  };
}

std::string to_table(const MemoryPlan& p) {
  const PlanOptions& o = p.options;
  std::string s;
  char line[256];
  auto row = [&](const char* name, int64_t ctx, int64_t den) {
    std::snprintf(line, sizeof line, "  %-22s %14s %14s\n", name, gb(ctx).c_str(), gb(den).c_str());
    s += line;
  };
  std::snprintf(line, sizeof line, "weights (bf16)           %14s %14s\n", "context", "denoiser");
  s += line;
  row("embedding + head", p.context.embedding + p.context.head, p.denoiser.embedding + p.denoiser.head);
  row("mamba layers", p.context.mamba, p.denoiser.mamba);
  row("attention layers", p.context.attention, p.denoiser.attention);
  row("moe layers", p.context.moe, p.denoiser.moe);
  row("mlp layers", p.context.mlp, p.denoiser.mlp);
  row("time conditioning", p.context.time_conditioning, p.denoiser.time_conditioning);
  row("total", p.context.total, p.denoiser.total);
  std::snprintf(line, sizeof line,
                "cache: K/V %lld B/token; Mamba state %s/sequence (conv %s + ssm %s)\n",
                static_cast<long long>(p.cache.kv_per_token),
                mb(p.cache.conv_per_sequence + p.cache.ssm_per_sequence).c_str(),
                mb(p.cache.conv_per_sequence).c_str(), mb(p.cache.ssm_per_sequence).c_str());
  s += line;
  std::snprintf(line, sizeof line, "placement: %d GPU(s) of %.1f GB, sequences of %d tokens\n", o.gpus,
                o.gpu_memory_gb, o.seq_len);
  s += line;
  std::snprintf(line, sizeof line, "  %-4s %-17s %10s %10s %10s %12s %10s %5s\n", "gpu", "role", "weights",
                "workspace", "free", "per seq", "sequences", "fits");
  s += line;
  for (const GpuPlan& g : p.gpus) {
    std::snprintf(line, sizeof line, "  %-4d %-17s %10s %10s %10s %12s %10lld %5s\n", g.index,
                  g.role.c_str(), gb(g.weights).c_str(), gb(g.workspace).c_str(),
                  gb(g.free_for_cache).c_str(), mb(g.per_sequence).c_str(),
                  static_cast<long long>(g.sequences), g.fits ? "yes" : "no");
    s += line;
  }
  std::snprintf(line, sizeof line, "diffusion: %lld concurrent sequences; AR only (one GPU): %lld\n",
                static_cast<long long>(p.diffusion_sequences),
                static_cast<long long>(p.ar_only.sequences));
  s += line;
  s += "by length:  seq_len  diffusion  ar_only\n";
  for (const LengthRow& r : p.by_length) {
    std::snprintf(line, sizeof line, "          %9d %10lld %8lld\n", r.seq_len,
                  static_cast<long long>(r.diffusion_sequences), static_cast<long long>(r.ar_sequences));
    s += line;
  }
  return s;
}

}  // namespace tt
