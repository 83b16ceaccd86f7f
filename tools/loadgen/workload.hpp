// What a load test (or a simulation) sends: arrival times and prompt/output
// lengths, synthetic (arrival process + length distributions) or replayed
// from a Mooncake-format JSONL trace. Pure: no I/O except reading the trace.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tools/loadgen/rng.hpp"

namespace tt::capacity {

// A length distribution: "fixed:N", "uniform:A:B", "normal:MEAN:STD",
// "lognormal:MEDIAN:SIGMA". Draws are rounded and clipped to [1, max].
struct LengthDist {
  enum class Kind { fixed, uniform, normal, lognormal };
  Kind kind = Kind::fixed;
  double a = 128, b = 0;
  int max = 1 << 20;

  // Throws tt::Error naming `option` on a malformed spec.
  static LengthDist parse(const std::string& spec, const std::string& option);
  int sample(Rng& rng) const;
  double mean() const;  // of the unclipped distribution
  std::string str() const;
};

// Inter-arrival gaps: Poisson (exponential gaps) or gamma with a burstiness
// factor (shape = burstiness, mean gap 1/rate; 1 = Poisson, < 1 burstier).
struct ArrivalProcess {
  enum class Kind { poisson, gamma, constant };
  Kind kind = Kind::poisson;
  double rate = 1.0;  // requests per second
  double burstiness = 1.0;

  static Kind parse_kind(const std::string& name);  // poisson | gamma | constant
  double next_gap(Rng& rng) const;
};

struct RequestSpec {
  double at_s = 0;  // offset from the start of the run (open loop and traces)
  int input_len = 0;
  int output_len = 0;
  std::vector<uint64_t> hash_ids;  // Mooncake prefix-block ids (traces only)
};

// `count` requests (count > 0) or as many as arrive within `duration_s`.
std::vector<RequestSpec> synthesize(const ArrivalProcess& arrivals, const LengthDist& input,
                                    const LengthDist& output, int count, double duration_s, uint64_t seed);

// Lengths only (closed loop: the loop decides when each is sent).
std::vector<RequestSpec> synthesize_lengths(const LengthDist& input, const LengthDist& output, int count,
                                            uint64_t seed);

// Mooncake JSONL: one {"timestamp": ms, "input_length", "output_length", "hash_ids": [...]}
// per line. Arrival times are rebased to the first request and divided by `speedup`.
// Throws tt::Error naming the file and line on bad input.
std::vector<RequestSpec> read_mooncake_trace(const std::string& path, double speedup);

// Prompt token ids of a request: each hash id names one `block_tokens`-long
// block of pseudo-random ids in [first_id, vocab) (shared prefixes stay
// shared); without hash ids the prompt is unique to `request_index`.
std::vector<int32_t> prompt_ids(const RequestSpec& r, uint64_t request_index, int vocab, int first_id,
                                int block_tokens = 512);

}  // namespace tt::capacity
