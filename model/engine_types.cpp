// Mode names and request validation.
#include "model/engine_types.hpp"

#include <cmath>

#include "model/error.hpp"

namespace tt {

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::diffusion: return "diffusion";
    case Mode::ar: return "ar";
    case Mode::mock_ar: return "mock-ar";
  }
  return "?";
}

Mode parse_mode(const std::string& s) {
  if (s == "diffusion") return Mode::diffusion;
  if (s == "ar") return Mode::ar;
  if (s == "mock-ar" || s == "mock_ar") return Mode::mock_ar;
  throw Error("mode: unknown mode '" + s + "' (expected diffusion, ar or mock-ar)");
}

void validate(const GenerateRequest& r, const ModelConfig& c) {
  if (r.prompt.empty()) throw Error("prompt: empty prompt (at least one token is needed)");
  for (int32_t t : r.prompt)
    if (t < 0 || t >= c.vocab_size)
      throw Error("prompt: token id " + std::to_string(t) + " is outside the vocabulary [0, " +
                  std::to_string(c.vocab_size) + ")");
  const int limit = c.max_position_embeddings > 0 ? c.max_position_embeddings : (1 << 20);
  if (r.max_tokens < 1) throw Error("max-tokens: must be at least 1 (got " + std::to_string(r.max_tokens) + ")");
  if (static_cast<int64_t>(r.prompt.size()) + r.max_tokens > limit)
    throw Error("max-tokens: prompt (" + std::to_string(r.prompt.size()) + " tokens) + max-tokens (" +
                std::to_string(r.max_tokens) + ") exceeds the model's context limit of " + std::to_string(limit));
  const DiffusionParams& d = r.diffusion;
  if (!(d.temperature >= 0.0f) || !std::isfinite(d.temperature))
    throw Error("temperature: must be a finite number >= 0");
  if (r.mode != Mode::diffusion) return;
  if (!(d.gamma > 0.0f && d.gamma <= 1.0f)) throw Error("gamma: must be in (0, 1] (got " + std::to_string(d.gamma) + ")");
  if (d.block_size < 1 || d.block_size > 4096)
    throw Error("block-size: must be in [1, 4096] (got " + std::to_string(d.block_size) + ")");
  if (d.steps < 1 || d.steps > 4096) throw Error("steps: must be in [1, 4096] (got " + std::to_string(d.steps) + ")");
}

bool append_tokens(GenerateResult& result, std::span<const int32_t> tokens, int max_tokens, int32_t eos) {
  for (int32_t t : tokens) {
    result.tokens.push_back(t);
    const bool stop = t == eos;
    if (stop || static_cast<int>(result.tokens.size()) >= max_tokens) {
      result.finish = stop ? FinishReason::stop : FinishReason::length;
      return true;
    }
  }
  return false;
}

}  // namespace tt
