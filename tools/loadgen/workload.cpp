// Arrival processes, length distributions and Mooncake trace replay.
#include "tools/loadgen/workload.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "model/error.hpp"

namespace tt::capacity {
namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep)) out.push_back(item);
  if (!s.empty() && s.back() == sep) out.emplace_back();
  return out;
}

double number(const std::string& s, const std::string& option, const std::string& spec) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (s.empty() || used != s.size() || !std::isfinite(v))
    throw Error(option + ": '" + spec + "': '" + s + "' is not a number");
  return v;
}

}  // namespace

LengthDist LengthDist::parse(const std::string& spec, const std::string& option) {
  const auto parts = split(spec, ':');
  LengthDist d;
  const std::string usage = " (use fixed:N, uniform:A:B, normal:MEAN:STD or lognormal:MEDIAN:SIGMA)";
  if (parts.empty()) throw Error(option + ": empty length distribution" + usage);
  const std::string& k = parts[0];
  size_t want = 0;
  if (k == "fixed") d.kind = Kind::fixed, want = 2;
  else if (k == "uniform") d.kind = Kind::uniform, want = 3;
  else if (k == "normal") d.kind = Kind::normal, want = 3;
  else if (k == "lognormal") d.kind = Kind::lognormal, want = 3;
  else if (parts.size() == 1) d.kind = Kind::fixed, want = 1;  // a bare number
  else throw Error(option + ": unknown distribution '" + k + "'" + usage);
  if (parts.size() != want) throw Error(option + ": '" + spec + "' has the wrong number of fields" + usage);
  d.a = number(parts[want == 1 ? 0 : 1], option, spec);
  if (want == 3) d.b = number(parts[2], option, spec);
  if (d.a < (d.kind == Kind::normal || d.kind == Kind::uniform ? 0 : 1) || d.a > d.max)
    throw Error(option + ": '" + spec + "': length out of range (1.." + std::to_string(d.max) + ")");
  if (d.kind == Kind::uniform && (d.b < d.a || d.b > d.max))
    throw Error(option + ": '" + spec + "': need A <= B <= " + std::to_string(d.max));
  if ((d.kind == Kind::normal || d.kind == Kind::lognormal) && d.b < 0)
    throw Error(option + ": '" + spec + "': spread must be >= 0");
  return d;
}

int LengthDist::sample(Rng& rng) const {
  double v = a;
  switch (kind) {
    case Kind::fixed: break;
    case Kind::uniform: v = a + std::floor(rng.uniform() * (b - a + 1)); break;
    case Kind::normal: v = a + b * rng.normal(); break;
    case Kind::lognormal: v = a * std::exp(b * rng.normal()); break;
  }
  return static_cast<int>(std::clamp(std::round(v), 1.0, static_cast<double>(max)));
}

double LengthDist::mean() const {
  switch (kind) {
    case Kind::fixed: return a;
    case Kind::uniform: return (a + b) / 2;
    case Kind::normal: return a;
    case Kind::lognormal: return a * std::exp(b * b / 2);
  }
  return a;
}

std::string LengthDist::str() const {
  auto n = [](double x) {
    std::ostringstream s;
    s << x;
    return s.str();
  };
  switch (kind) {
    case Kind::fixed: return "fixed:" + n(a);
    case Kind::uniform: return "uniform:" + n(a) + ":" + n(b);
    case Kind::normal: return "normal:" + n(a) + ":" + n(b);
    case Kind::lognormal: return "lognormal:" + n(a) + ":" + n(b);
  }
  return "";
}

ArrivalProcess::Kind ArrivalProcess::parse_kind(const std::string& name) {
  if (name == "poisson") return Kind::poisson;
  if (name == "gamma") return Kind::gamma;
  if (name == "constant") return Kind::constant;
  throw Error("--arrival: '" + name + "' is not an arrival process (poisson, gamma, constant)");
}

double ArrivalProcess::next_gap(Rng& rng) const {
  switch (kind) {
    case Kind::poisson: return rng.exponential(1.0 / rate);
    case Kind::gamma: return rng.gamma(burstiness, 1.0 / (rate * burstiness));
    case Kind::constant: return 1.0 / rate;
  }
  return 1.0 / rate;
}

std::vector<RequestSpec> synthesize(const ArrivalProcess& arrivals, const LengthDist& input,
                                    const LengthDist& output, int count, double duration_s, uint64_t seed) {
  if (!(arrivals.rate > 0)) throw Error("--rate: must be > 0");
  if (arrivals.kind == ArrivalProcess::Kind::gamma && !(arrivals.burstiness > 0))
    throw Error("--burstiness: must be > 0");
  Rng arrival_rng(seed), length_rng(seed ^ 0x5bd1e995u);
  std::vector<RequestSpec> out;
  double t = 0;
  while (true) {
    t += arrivals.next_gap(arrival_rng);
    if (count > 0 ? static_cast<int>(out.size()) >= count : t >= duration_s) break;
    RequestSpec r;
    r.at_s = t;
    r.input_len = input.sample(length_rng);
    r.output_len = output.sample(length_rng);
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<RequestSpec> synthesize_lengths(const LengthDist& input, const LengthDist& output, int count,
                                            uint64_t seed) {
  Rng length_rng(seed ^ 0x5bd1e995u);
  std::vector<RequestSpec> out(static_cast<size_t>(count));
  for (auto& r : out) {
    r.input_len = input.sample(length_rng);
    r.output_len = output.sample(length_rng);
  }
  return out;
}

std::vector<RequestSpec> read_mooncake_trace(const std::string& path, double speedup) {
  if (!(speedup > 0)) throw Error("--trace-speedup: must be > 0");
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open the trace");
  std::vector<RequestSpec> out;
  std::string line;
  int lineno = 0;
  double first = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(lineno) + ": ";
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const std::exception&) {
      throw Error(where + "not a JSON object");
    }
    if (!j.is_object()) throw Error(where + "not a JSON object");
    auto field = [&](const char* name) -> const nlohmann::json& {
      auto it = j.find(name);
      if (it == j.end() || !it->is_number()) throw Error(where + "missing numeric field '" + name + "'");
      return *it;
    };
    RequestSpec r;
    const double ts = field("timestamp").get<double>();
    const int64_t in_len = field("input_length").get<int64_t>(), out_len = field("output_length").get<int64_t>();
    if (in_len < 1 || in_len > (1 << 22) || out_len < 1 || out_len > (1 << 22))
      throw Error(where + "input_length/output_length out of range (1.." + std::to_string(1 << 22) + ")");
    r.input_len = static_cast<int>(in_len);
    r.output_len = static_cast<int>(out_len);
    if (auto h = j.find("hash_ids"); h != j.end()) {
      if (!h->is_array()) throw Error(where + "hash_ids must be an array of integers");
      for (const auto& v : *h) {
        if (!v.is_number_integer()) throw Error(where + "hash_ids must be an array of integers");
        r.hash_ids.push_back(v.get<uint64_t>());
      }
    }
    if (out.empty()) first = ts;
    if (ts < first) throw Error(where + "timestamps must not decrease");
    r.at_s = (ts - first) / 1000.0 / speedup;
    if (!out.empty() && r.at_s < out.back().at_s) throw Error(where + "timestamps must not decrease");
    out.push_back(std::move(r));
  }
  if (out.empty()) throw Error(path + ": the trace has no requests");
  return out;
}

std::vector<int32_t> prompt_ids(const RequestSpec& r, uint64_t request_index, int vocab, int first_id,
                                int block_tokens) {
  std::vector<int32_t> ids;
  ids.reserve(static_cast<size_t>(r.input_len));
  const uint64_t span = static_cast<uint64_t>(std::max(1, vocab - first_id));
  size_t block = 0;
  while (static_cast<int>(ids.size()) < r.input_len) {
    uint64_t key = block < r.hash_ids.size() ? r.hash_ids[block] * 0x100000001b3ull + 17
                                             : (request_index << 20) ^ (block * 0x9e37ull) ^ (1ull << 63);
    for (int i = 0; i < block_tokens && static_cast<int>(ids.size()) < r.input_len; ++i)
      ids.push_back(static_cast<int32_t>(first_id + splitmix64(key) % span));
    ++block;
  }
  return ids;
}

}  // namespace tt::capacity
