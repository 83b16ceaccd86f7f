// What one request measured, and the summary of a run: latency percentiles,
// throughput and goodput under SLOs. Pure; loadgen and simulate share it so
// their figures are computed the same way.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tt::capacity {

struct RequestRecord {
  double start_s = 0;        // sent (seconds from the run's start)
  double first_token_s = -1; // first content arrived; -1: none
  double end_s = 0;          // response complete (or failed)
  int input_tokens = 0;
  int output_tokens = 0;
  std::vector<double> itl_s; // one entry per output token after the first chunk's
  int64_t denoiser_forwards = 0;  // from the response's twotower object; 0: unknown
  bool ok = false;
  bool measured = true;      // false: warm-up
  std::string error;
};

// Service-level objectives; <= 0 means "not set".
struct Slo {
  double ttft_s = 0, itl_s = 0, e2e_s = 0;
  // "ttft=2s,itl=50ms,e2e=10s"; throws tt::Error naming --slo.
  static Slo parse(const std::string& text);
  bool any() const { return ttft_s > 0 || itl_s > 0 || e2e_s > 0; }
  // A request is good when every set objective holds; ITL is judged on the
  // request's mean inter-token latency (time per output token after the first).
  bool met(const RequestRecord& r) const;
};

struct Percentiles {
  double mean = 0, p50 = 0, p90 = 0, p99 = 0, max = 0;
  size_t count = 0;
};
// Nearest-rank percentiles (p = ceil(q n)-th smallest); sorts `v`.
Percentiles percentiles(std::vector<double> v);
nlohmann::json to_json(const Percentiles& p);

struct Summary {
  std::string label;           // e.g. "rate=8" or "concurrency=4"
  double offered_rate = 0;     // open loop: requests/s; 0 otherwise
  int concurrency = 0;         // closed loop: in-flight requests; 0 otherwise
  double window_s = 0;         // from first measured send to last measured completion
  size_t completed = 0, errors = 0;
  double requests_per_s = 0, output_tokens_per_s = 0, input_tokens_per_s = 0;
  Percentiles ttft, itl, tpot, e2e;
  double tokens_per_forward = 0;  // sum of output tokens / sum of denoiser forwards (0: unknown)
  double goodput_rps = 0, good_fraction = 0;
  std::vector<std::string> error_samples;  // first few distinct messages
};

Summary summarize(const std::vector<RequestRecord>& records, const Slo& slo);
nlohmann::json to_json(const Summary& s);

}  // namespace tt::capacity
