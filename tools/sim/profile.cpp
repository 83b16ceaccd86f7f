// Profile files and the per-step commit draw.
#include "tools/sim/profile.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "model/error.hpp"

namespace tt::capacity {

double ForwardCost::seconds(double tokens, double sequences, double context_tokens) const {
  double base = 0;
  const auto& t = tokens_seconds;
  if (t.size() == 1) {
    base = t[0].second * (tokens / std::max(1.0, t[0].first));
  } else if (!t.empty()) {
    size_t i = 1;
    while (i + 1 < t.size() && tokens > t[i].first) ++i;
    const auto& [x0, y0] = t[i - 1];
    const auto& [x1, y1] = t[i];
    base = y0 + (y1 - y0) * (tokens - x0) / (x1 - x0);
  }
  return std::max(0.0, base) + per_sequence_s * sequences + per_context_token_s * context_tokens;
}

double CommitDist::mean() const {
  double m = 0;
  for (size_t k = 0; k < p.size(); ++k) m += static_cast<double>(k + 1) * p[k];
  return m;
}

namespace {

double num(const nlohmann::json& j, const char* key, const std::string& where, double fallback, bool required) {
  auto it = j.find(key);
  if (it == j.end()) {
    if (required) throw Error(where + ": missing field '" + key + "'");
    return fallback;
  }
  if (!it->is_number() || !std::isfinite(it->get<double>()) || it->get<double>() < 0)
    throw Error(where + ": field '" + key + "' must be a number >= 0");
  return it->get<double>();
}

ForwardCost cost(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw Error(where + ": must be an object");
  ForwardCost c;
  auto t = j.find("tokens_seconds");
  if (t == j.end() || !t->is_array() || t->empty())
    throw Error(where + ": 'tokens_seconds' must be a non-empty array of [tokens, seconds]");
  for (const auto& pt : *t) {
    if (!pt.is_array() || pt.size() != 2 || !pt[0].is_number() || !pt[1].is_number() || pt[0].get<double>() <= 0 ||
        pt[1].get<double>() < 0)
      throw Error(where + ": 'tokens_seconds' entries must be [tokens > 0, seconds >= 0]");
    if (!c.tokens_seconds.empty() && pt[0].get<double>() <= c.tokens_seconds.back().first)
      throw Error(where + ": 'tokens_seconds' tokens must increase");
    c.tokens_seconds.emplace_back(pt[0].get<double>(), pt[1].get<double>());
  }
  c.per_sequence_s = num(j, "per_sequence_s", where, 0, false);
  c.per_context_token_s = num(j, "per_context_token_s", where, 0, false);
  return c;
}

}  // namespace

Profile Profile::from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw Error(where + ": a profile must be a JSON object");
  Profile p;
  p.name = j.value("name", "");
  p.description = j.value("description", "");
  if (!j.contains("context_forward")) throw Error(where + ": missing field 'context_forward'");
  if (!j.contains("denoiser_forward")) throw Error(where + ": missing field 'denoiser_forward'");
  p.context = cost(j["context_forward"], where + ": context_forward");
  p.denoiser = cost(j["denoiser_forward"], where + ": denoiser_forward");
  p.block_size = static_cast<int>(num(j, "block_size", where, 16, false));
  p.steps = static_cast<int>(num(j, "steps", where, 16, false));
  if (p.block_size < 1 || p.block_size > 1024 || p.steps < 1 || p.steps > 1024)
    throw Error(where + ": block_size and steps must be in 1..1024");
  p.kv_bytes_per_token = num(j, "kv_bytes_per_token", where, 0, false);
  p.state_bytes = num(j, "state_bytes", where, 0, false);
  p.gpus_per_context = static_cast<int>(num(j, "gpus_per_context", where, 1, false));
  p.gpus_per_denoiser = static_cast<int>(num(j, "gpus_per_denoiser", where, 1, false));
  p.router_request_s = num(j, "router_request_s", where, 0, false);
  auto tps = j.find("tokens_per_step");
  if (tps == j.end() || !tps->is_object() || tps->empty())
    throw Error(where + ": 'tokens_per_step' must map gamma (\"0.8\") to a histogram of tokens committed per step");
  for (const auto& [g, h] : tps->items()) {
    CommitDist d;
    try {
      d.gamma = std::stod(g);
    } catch (const std::exception&) {
      throw Error(where + ": tokens_per_step key '" + g + "' is not a gamma");
    }
    const nlohmann::json& hist = h.is_object() && h.contains("histogram") ? h["histogram"] : h;
    if (!hist.is_array() || hist.empty() || static_cast<int>(hist.size()) > p.block_size)
      throw Error(where + ": tokens_per_step." + g + " must be an array of 1.." + std::to_string(p.block_size) +
                  " probabilities (k = 1, 2, ...)");
    double sum = 0;
    for (const auto& x : hist) {
      if (!x.is_number() || x.get<double>() < 0) throw Error(where + ": tokens_per_step." + g + ": probabilities must be >= 0");
      d.p.push_back(x.get<double>());
      sum += x.get<double>();
    }
    if (!(sum > 0)) throw Error(where + ": tokens_per_step." + g + " sums to 0");
    for (double& x : d.p) x /= sum;
    p.commits.push_back(std::move(d));
  }
  std::sort(p.commits.begin(), p.commits.end(), [](const auto& a, const auto& b) { return a.gamma < b.gamma; });
  return p;
}

Profile Profile::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open the profile");
  nlohmann::json j;
  try {
    in >> j;
  } catch (const std::exception&) {
    throw Error(path + ": not valid JSON");
  }
  return from_json(j, path);
}

const CommitDist& Profile::at_gamma(double gamma) const {
  for (const auto& c : commits)
    if (std::abs(c.gamma - gamma) < 1e-6) return c;
  std::ostringstream have;
  for (const auto& c : commits) have << (have.tellp() ? ", " : "") << c.gamma;
  throw Error("--gamma: the profile '" + name + "' has no commit distribution for gamma " + std::to_string(gamma) +
              " (it has " + have.str() + ")");
}

int draw_commit(const CommitDist& d, int masked, int step, int steps, Rng& rng) {
  if (step >= steps - 1) return masked;
  double u = rng.uniform();
  int k = static_cast<int>(d.p.size());
  for (size_t i = 0; i < d.p.size(); ++i) {
    if (u < d.p[i]) {
      k = static_cast<int>(i) + 1;
      break;
    }
    u -= d.p[i];
  }
  const int floor_k = (masked + (steps - step) - 1) / (steps - step);
  return std::min(masked, std::max(k, floor_k));
}

}  // namespace tt::capacity
