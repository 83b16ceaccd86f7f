// Percentiles, throughput and goodput of a run.
#include "tools/loadgen/stats.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

#include "model/error.hpp"

namespace tt::capacity {
namespace {

double parse_duration(const std::string& key, const std::string& v) {
  size_t used = 0;
  double x = 0;
  try {
    x = std::stod(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  const std::string unit = used > 0 ? v.substr(used) : "";
  double scale = 0;
  if (unit == "s") scale = 1;
  else if (unit == "ms") scale = 1e-3;
  else if (unit == "us") scale = 1e-6;
  if (used == 0 || scale == 0 || !(x > 0) || !std::isfinite(x))
    throw Error("--slo: " + key + "='" + v + "' is not a positive duration with a unit (s, ms, us)");
  return x * scale;
}

}  // namespace

Slo Slo::parse(const std::string& text) {
  Slo s;
  std::stringstream ss(text);
  std::string item;
  bool any = false;
  while (std::getline(ss, item, ',')) {
    const auto eq = item.find('=');
    if (eq == std::string::npos) throw Error("--slo: '" + item + "' is not KEY=DURATION (keys: ttft, itl, e2e)");
    const std::string k = item.substr(0, eq), v = item.substr(eq + 1);
    double* slot = k == "ttft" ? &s.ttft_s : k == "itl" ? &s.itl_s : k == "e2e" ? &s.e2e_s : nullptr;
    if (slot == nullptr) throw Error("--slo: unknown objective '" + k + "' (ttft, itl, e2e)");
    *slot = parse_duration(k, v);
    any = true;
  }
  if (!any) throw Error("--slo: empty (example: ttft=2s,itl=50ms)");
  return s;
}

bool Slo::met(const RequestRecord& r) const {
  if (!r.ok) return false;
  if (ttft_s > 0 && (r.first_token_s < 0 || r.first_token_s - r.start_s > ttft_s)) return false;
  if (e2e_s > 0 && r.end_s - r.start_s > e2e_s) return false;
  if (itl_s > 0 && !r.itl_s.empty()) {
    const double mean = std::accumulate(r.itl_s.begin(), r.itl_s.end(), 0.0) / static_cast<double>(r.itl_s.size());
    if (mean > itl_s) return false;
  }
  return true;
}

Percentiles percentiles(std::vector<double> v) {
  Percentiles p;
  p.count = v.size();
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  auto rank = [&](double q) {
    const size_t k = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
    return v[std::clamp<size_t>(k, 1, v.size()) - 1];
  };
  p.mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  p.p50 = rank(0.50);
  p.p90 = rank(0.90);
  p.p99 = rank(0.99);
  p.max = v.back();
  return p;
}

nlohmann::json to_json(const Percentiles& p) {
  return {{"mean", p.mean}, {"p50", p.p50}, {"p90", p.p90}, {"p99", p.p99}, {"max", p.max}, {"count", p.count}};
}

Summary summarize(const std::vector<RequestRecord>& records, const Slo& slo) {
  Summary s;
  std::vector<double> ttft, itl, tpot, e2e;
  double first = 0, last = 0;
  bool seen = false;
  int64_t tokens = 0, in_tokens = 0, fwd_tokens = 0, forwards = 0;
  size_t good = 0;
  for (const auto& r : records) {
    if (!r.measured) continue;
    first = seen ? std::min(first, r.start_s) : r.start_s;
    last = seen ? std::max(last, r.end_s) : r.end_s;
    seen = true;
    if (!r.ok) {
      ++s.errors;
      if (s.error_samples.size() < 5 &&
          std::find(s.error_samples.begin(), s.error_samples.end(), r.error) == s.error_samples.end())
        s.error_samples.push_back(r.error);
      continue;
    }
    ++s.completed;
    tokens += r.output_tokens;
    in_tokens += r.input_tokens;
    if (r.denoiser_forwards > 0) fwd_tokens += r.output_tokens, forwards += r.denoiser_forwards;
    if (r.first_token_s >= 0) ttft.push_back(r.first_token_s - r.start_s);
    e2e.push_back(r.end_s - r.start_s);
    itl.insert(itl.end(), r.itl_s.begin(), r.itl_s.end());
    if (r.output_tokens > 1 && r.first_token_s >= 0)
      tpot.push_back((r.end_s - r.first_token_s) / (r.output_tokens - 1));
    if (slo.met(r)) ++good;
  }
  s.window_s = seen ? last - first : 0;
  if (s.window_s > 0) {
    s.requests_per_s = static_cast<double>(s.completed) / s.window_s;
    s.output_tokens_per_s = static_cast<double>(tokens) / s.window_s;
    s.input_tokens_per_s = static_cast<double>(in_tokens) / s.window_s;
    s.goodput_rps = static_cast<double>(good) / s.window_s;
  }
  const size_t total = s.completed + s.errors;
  s.good_fraction = total ? static_cast<double>(good) / static_cast<double>(total) : 0;
  s.ttft = percentiles(std::move(ttft));
  s.itl = percentiles(std::move(itl));
  s.tpot = percentiles(std::move(tpot));
  s.e2e = percentiles(std::move(e2e));
  s.tokens_per_forward = forwards ? static_cast<double>(fwd_tokens) / static_cast<double>(forwards) : 0;
  return s;
}

nlohmann::json to_json(const Summary& s) {
  nlohmann::json j = {{"label", s.label},
                      {"window_s", s.window_s},
                      {"completed", s.completed},
                      {"errors", s.errors},
                      {"requests_per_s", s.requests_per_s},
                      {"output_tokens_per_s", s.output_tokens_per_s},
                      {"input_tokens_per_s", s.input_tokens_per_s},
                      {"ttft_s", to_json(s.ttft)},
                      {"itl_s", to_json(s.itl)},
                      {"tpot_s", to_json(s.tpot)},
                      {"e2e_s", to_json(s.e2e)},
                      {"tokens_per_forward", s.tokens_per_forward},
                      {"goodput_rps", s.goodput_rps},
                      {"good_fraction", s.good_fraction}};
  if (s.offered_rate > 0) j["offered_rate"] = s.offered_rate;
  if (s.concurrency > 0) j["concurrency"] = s.concurrency;
  if (!s.error_samples.empty()) j["error_samples"] = s.error_samples;
  return j;
}

}  // namespace tt::capacity
