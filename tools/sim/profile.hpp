// A hardware profile: what a context or denoiser forward costs as a function
// of its batch (tokens, sequences, context tokens read), how many tokens a
// block commits per denoiser step at each gamma, and cache sizes. Read from a
// JSON file in profiles/; shared by `simulate`, `plan` and mock compute.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/loadgen/rng.hpp"

namespace tt::capacity {

// seconds = interpolate(tokens_seconds, tokens) + per_sequence_s * sequences
//         + per_context_token_s * context tokens read (attention over the cache)
struct ForwardCost {
  std::vector<std::pair<double, double>> tokens_seconds;  // increasing tokens; linear between, extrapolated past the ends
  double per_sequence_s = 0, per_context_token_s = 0;
  double seconds(double tokens, double sequences, double context_tokens) const;
};

// P(k tokens pass the confidence threshold on a step), k = 1..block size.
struct CommitDist {
  double gamma = 0.8;
  std::vector<double> p;
  double mean() const;
};

struct Profile {
  std::string name, description;
  ForwardCost context, denoiser;
  std::vector<CommitDist> commits;  // one per measured gamma
  double kv_bytes_per_token = 0, state_bytes = 0;
  int block_size = 16, steps = 16;
  int gpus_per_context = 1, gpus_per_denoiser = 1;
  double router_request_s = 0;  // router CPU time per request (tokenize, route)

  // Throws tt::Error naming the file and the field on bad input.
  static Profile load(const std::string& path);
  static Profile from_json(const nlohmann::json& j, const std::string& where);
  // The distribution measured at `gamma` (within 1e-6); throws listing the gammas there are.
  const CommitDist& at_gamma(double gamma) const;
};

// Tokens a block commits on denoiser step `step` (0-based) with `masked`
// positions left, by the decoding rule: k ~ dist, at least ceil(masked /
// (steps - step)), everything on the last step, never more than masked.
int draw_commit(const CommitDist& d, int masked, int step, int steps, Rng& rng);

}  // namespace tt::capacity
