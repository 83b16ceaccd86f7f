// The planner's search: for each gamma and denoisers-per-context, the fewest
// context actors that meet the SLOs (doubling, then bisection; goodput is
// taken as monotone in the number of context actors).
#include "tools/sim/planner.hpp"

#include <algorithm>
#include <optional>

#include "model/error.hpp"

namespace tt::capacity {

int gpus_of(const ClusterSpec& s, const Profile& p) {
  return s.contexts * (p.gpus_per_context + s.denoisers_per_context * p.gpus_per_denoiser);
}

double latency_growth(const std::vector<RequestRecord>& records) {
  std::vector<const RequestRecord*> ok;
  for (const auto& r : records)
    if (r.measured && r.ok) ok.push_back(&r);
  if (ok.size() < 8) return 1;
  std::sort(ok.begin(), ok.end(), [](auto* a, auto* b) { return a->start_s < b->start_s; });
  auto median = [&](size_t from, size_t to) {
    std::vector<double> v;
    for (size_t i = from; i < to; ++i) v.push_back((ok[i]->end_s - ok[i]->start_s) / std::max(1, ok[i]->output_tokens));
    return percentiles(v).p50;
  };
  const size_t q = ok.size() / 4;
  const double early = median(q, 2 * q), late = median(3 * q, ok.size());
  return early > 0 ? late / early : 1;
}

nlohmann::json to_json(const PlanCandidate& c) {
  return {{"contexts", c.spec.contexts},
          {"denoisers_per_context", c.spec.denoisers_per_context},
          {"gamma", c.spec.gamma},
          {"gpus", c.gpus},
          {"feasible", c.feasible},
          {"latency_growth", c.growth},
          {"goodput_rps", c.summary.goodput_rps},
          {"good_fraction", c.summary.good_fraction},
          {"requests_per_s", c.summary.requests_per_s},
          {"output_tokens_per_s", c.summary.output_tokens_per_s},
          {"ttft_p50_s", c.summary.ttft.p50},
          {"ttft_p99_s", c.summary.ttft.p99},
          {"itl_p50_s", c.summary.itl.p50},
          {"tpot_p99_s", c.summary.tpot.p99},
          {"e2e_p50_s", c.summary.e2e.p50},
          {"tokens_per_forward", c.summary.tokens_per_forward}};
}

PlanResult plan(const PlanRequest& r, const Profile& profile) {
  if (!(r.rate > 0)) throw Error("--rate: must be > 0");
  if (!r.slo.any()) throw Error("--slo: plan needs at least one objective (example: ttft=2s,itl=50ms)");
  ArrivalProcess ap;
  ap.rate = r.rate;
  SimLoad load;
  load.requests = synthesize(ap, r.input, r.output, r.requests, 0, r.seed);
  load.warmup_s = load.requests[static_cast<size_t>(r.requests / 10)].at_s;  // the first 10% fill the pipeline

  PlanResult out;
  auto evaluate = [&](ClusterSpec s) {
    PlanCandidate c;
    c.spec = s;
    c.gpus = gpus_of(s, profile);
    const auto records = simulate_cluster(s, profile, load, r.seed);
    c.summary = summarize(records, r.slo);
    c.growth = latency_growth(records);
    c.feasible = c.summary.good_fraction >= r.min_good_fraction && c.growth <= r.max_growth;
    out.tried.push_back(c);
    return c;
  };
  auto better = [](const PlanCandidate& a, const PlanCandidate& b) {  // a preferred over b
    if (a.gpus != b.gpus) return a.gpus < b.gpus;
    if (a.spec.gamma != b.spec.gamma) return a.spec.gamma > b.spec.gamma;
    return a.summary.goodput_rps > b.summary.goodput_rps;
  };
  for (const CommitDist& d : profile.commits) {
    if (d.gamma < r.min_gamma) continue;
    for (int dpc = 1; dpc <= r.max_denoisers_per_context; ++dpc) {
      ClusterSpec s = r.base;
      s.gamma = d.gamma;
      s.denoisers_per_context = dpc;
      const int per_context = profile.gpus_per_context + dpc * profile.gpus_per_denoiser;
      const int max_contexts = r.max_gpus / per_context;
      if (max_contexts < 1) break;
      // Fewest context actors: double until feasible, then bisect.
      int lo = 0, hi = 1;
      std::optional<PlanCandidate> ok;
      while (hi <= max_contexts) {
        s.contexts = hi;
        PlanCandidate c = evaluate(s);
        if (c.feasible) {
          ok = c;
          break;
        }
        if (out.found && c.gpus >= out.best.gpus) break;  // cannot beat the best any more
        lo = hi;
        hi = hi * 2 > max_contexts && hi < max_contexts ? max_contexts : hi * 2;
      }
      if (!ok) continue;
      while (hi - lo > 1) {
        s.contexts = (lo + hi) / 2;
        PlanCandidate c = evaluate(s);
        if (c.feasible) hi = s.contexts, ok = c;
        else lo = s.contexts;
      }
      if (!out.found || better(*ok, out.best)) out.best = *ok, out.found = true;
    }
  }
  return out;
}

}  // namespace tt::capacity
