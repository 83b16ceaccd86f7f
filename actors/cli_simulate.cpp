// `twotower simulate` (a rate or concurrency sweep through the discrete-event
// cluster model) and `twotower plan` (the smallest cluster meeting SLOs).
#include <cstdio>
#include <iostream>
#include <sstream>

#include "actors/cli_args.hpp"
#include "actors/commands.hpp"
#include "model/error.hpp"
#include "tools/loadgen/report.hpp"
#include "tools/sim/cluster_sim.hpp"
#include "tools/sim/planner.hpp"

namespace tt::cli {
namespace {

using namespace tt::capacity;

constexpr const char* kSimulateHelp =
    "usage: twotower simulate --profile FILE (--rate 1,2,4 | --concurrency 1,8 | --trace FILE) [options]\n"
    "  cluster: --contexts 1 --denoisers 1 (per context) --routers 1 --gamma 0.8\n"
    "           --link-latency 50us --link-bandwidth 25e9 (bytes/s) --client-latency 0us\n"
    "           --max-denoiser-batch N --max-context-batch N (0: unbounded)\n"
    "  load:    --requests 1000 | --duration S, --warmup S, --arrival poisson|gamma|constant, --burstiness B,\n"
    "           --input-len DIST --output-len DIST (as loadgen), --trace-speedup 1, --seed 1\n"
    "  out:     --slo ttft=2s,itl=50ms, --csv FILE, --svg FILE; JSON (same fields as loadgen) on stdout\n";

constexpr const char* kPlanHelp =
    "usage: twotower plan --profile FILE --rate R --slo ttft=2s,itl=50ms [--input-len DIST] [--output-len DIST]\n"
    "                     [--min-good 0.95] [--min-gamma 0] [--max-denoisers 8] [--max-gpus 4096]\n"
    "                     [--requests 2000] [--seed 1] [--max-growth 1.25] [cluster options of simulate]\n"
    "Prints the recommended context actors, denoisers per context actor and gamma (fewest GPUs,\n"
    "then highest gamma), their predicted goodput and latency, and every candidate simulated.\n";

double duration_option(const Args& a, const std::string& name, double fallback) {
  if (!a.has(name)) return fallback;
  const std::string v = *a.str(name);
  size_t used = 0;
  double x = -1;
  try {
    x = std::stod(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  const std::string unit = used ? v.substr(used) : "";
  const double scale = unit == "s" ? 1 : unit == "ms" ? 1e-3 : unit == "us" ? 1e-6 : unit == "ns" ? 1e-9 : 0;
  if (!used || scale == 0 || !(x >= 0)) throw Error("--" + name + ": '" + v + "' is not a duration with a unit (s, ms, us, ns)");
  return x * scale;
}

ClusterSpec cluster_options(const Args& a) {
  ClusterSpec s;
  s.contexts = static_cast<int>(a.integer("contexts", 1, 1, 100000));
  s.denoisers_per_context = static_cast<int>(a.integer("denoisers", 1, 1, 1024));
  s.routers = static_cast<int>(a.integer("routers", 1, 1, 10000));
  s.gamma = a.number("gamma", 0.8);
  s.link_latency_s = duration_option(a, "link-latency", 50e-6);
  s.client_latency_s = duration_option(a, "client-latency", 0);
  s.link_bandwidth_Bps = a.number("link-bandwidth", 25e9);
  if (!(s.link_bandwidth_Bps > 0)) throw Error("--link-bandwidth: must be > 0 (bytes/s)");
  s.max_denoiser_batch = static_cast<int>(a.integer("max-denoiser-batch", 0, 0, 1 << 20));
  s.max_context_batch = static_cast<int>(a.integer("max-context-batch", 0, 0, 1 << 20));
  return s;
}

const std::set<std::string> kClusterOptions = {"contexts", "denoisers", "routers", "gamma", "link-latency",
                                               "client-latency", "link-bandwidth", "max-denoiser-batch",
                                               "max-context-batch", "profile", "seed", "input-len", "output-len",
                                               "slo", "requests"};

std::set<std::string> with(std::set<std::string> base, std::initializer_list<const char*> more) {
  for (const char* m : more) base.insert(m);
  return base;
}

std::vector<double> positive_numbers(const std::string& text, const std::string& option) {
  return parse_number_list(text, option, [](double v) { return v > 0 && v <= 1e9; }, "a positive number");
}

}  // namespace

int run_simulate(const std::vector<std::string>& argv) {
  for (const auto& x : argv)
    if (x == "--help" || x == "-h") return std::fputs(kSimulateHelp, stdout), 0;
  Args a(argv, with(kClusterOptions, {"rate", "concurrency", "trace", "trace-speedup", "duration", "warmup", "arrival",
                                      "burstiness", "csv", "svg"}),
         {});
  if (!a.has("profile")) throw Error("--profile FILE is required (see profiles/)");
  const Profile profile = Profile::load(*a.str("profile"));
  const ClusterSpec spec = cluster_options(a);
  profile.at_gamma(spec.gamma);  // a clear error before any work
  if (a.has("rate") + a.has("concurrency") + a.has("trace") != 1)
    throw Error("give exactly one of --rate, --concurrency, --trace");
  const double duration = a.number("duration", 0), warmup = a.number("warmup", 0);
  if (!(duration >= 0) || !(warmup >= 0)) throw Error("--duration and --warmup must be >= 0");
  const int requests = static_cast<int>(a.integer("requests", duration > 0 ? 0 : 1000, 0, 100000000));
  const uint64_t seed = a.seed("seed", 1);
  const LengthDist in = LengthDist::parse(a.str("input-len", "fixed:128"), "--input-len");
  const LengthDist out = LengthDist::parse(a.str("output-len", "fixed:64"), "--output-len");
  const Slo slo = a.has("slo") ? Slo::parse(*a.str("slo")) : Slo{};

  std::vector<Summary> points;
  nlohmann::json counters = nlohmann::json::array();
  auto run = [&](SimLoad load, const std::string& label, double rate, int conc) {
    load.warmup_s = warmup;
    SimCounters c;
    Summary s = summarize(simulate_cluster(spec, profile, load, seed, &c), slo);
    s.label = label, s.offered_rate = rate, s.concurrency = conc;
    points.push_back(std::move(s));
    counters.push_back({{"context_forwards", c.context_forwards},
                        {"denoiser_forwards", c.denoiser_forwards},
                        {"context_utilization", c.end_s > 0 ? c.context_busy_s / c.end_s / spec.contexts : 0},
                        {"denoiser_utilization",
                         c.end_s > 0 ? c.denoiser_busy_s / c.end_s / (spec.contexts * spec.denoisers_per_context) : 0},
                        {"cache_bytes_moved", c.bytes_moved}});
  };
  if (a.has("rate")) {
    ArrivalProcess ap;
    ap.kind = ArrivalProcess::parse_kind(a.str("arrival", "poisson"));
    ap.burstiness = a.number("burstiness", 1.0);
    for (double r : positive_numbers(*a.str("rate"), "rate")) {
      ap.rate = r;
      SimLoad l;
      l.requests = synthesize(ap, in, out, requests, warmup + duration, seed);
      run(std::move(l), "rate=" + format_number(r), r, 0);
    }
  } else if (a.has("concurrency")) {
    for (double c : positive_numbers(*a.str("concurrency"), "concurrency")) {
      SimLoad l;
      l.concurrency = static_cast<int>(c);
      l.requests = synthesize_lengths(in, out, requests > 0 ? requests : 1000, seed);
      run(std::move(l), "concurrency=" + format_number(c), 0, l.concurrency);
    }
  } else {
    for (double sp : positive_numbers(a.str("trace-speedup", "1"), "trace-speedup")) {
      SimLoad l;
      l.requests = read_mooncake_trace(*a.str("trace"), sp);
      const double rate = l.requests.size() > 1 ? (l.requests.size() - 1) / l.requests.back().at_s : 0;
      run(std::move(l), "trace_speedup=" + format_number(sp), rate, 0);
    }
  }
  nlohmann::json j = {{"profile", profile.name},
                      {"cluster",
                       {{"routers", spec.routers}, {"contexts", spec.contexts},
                        {"denoisers_per_context", spec.denoisers_per_context}, {"gamma", spec.gamma},
                        {"gpus", gpus_of(spec, profile)}, {"link_latency_s", spec.link_latency_s},
                        {"link_bandwidth_Bps", spec.link_bandwidth_Bps}}},
                      {"input_len", in.str()}, {"output_len", out.str()}, {"seed", seed},
                      {"points", nlohmann::json::array()}};
  for (size_t i = 0; i < points.size(); ++i) {
    nlohmann::json p = to_json(points[i]);
    p["model"] = counters[i];
    j["points"].push_back(p);
  }
  if (a.has("csv")) write_file(*a.str("csv"), to_csv(points));
  if (a.has("svg")) write_file(*a.str("svg"), to_svg(points, "twotower simulate: " + profile.name));
  std::cout << j.dump(2) << "\n";
  return 0;
}

int run_plan(const std::vector<std::string>& argv) {
  for (const auto& x : argv)
    if (x == "--help" || x == "-h") return std::fputs(kPlanHelp, stdout), 0;
  Args a(argv, with(kClusterOptions, {"rate", "min-good", "min-gamma", "max-denoisers", "max-gpus", "max-growth"}), {});
  if (!a.has("profile")) throw Error("--profile FILE is required (see profiles/)");
  if (!a.has("rate")) throw Error("--rate R (requests/s) is required");
  const Profile profile = Profile::load(*a.str("profile"));
  PlanRequest r;
  r.base = cluster_options(a);
  r.rate = a.number("rate", 1);
  r.input = LengthDist::parse(a.str("input-len", "fixed:128"), "--input-len");
  r.output = LengthDist::parse(a.str("output-len", "fixed:64"), "--output-len");
  if (!a.has("slo")) throw Error("--slo is required (example: ttft=2s,itl=50ms)");
  r.slo = Slo::parse(*a.str("slo"));
  r.min_good_fraction = a.number("min-good", 0.95);
  if (!(r.min_good_fraction > 0 && r.min_good_fraction <= 1)) throw Error("--min-good: must be in (0, 1]");
  r.min_gamma = a.number("min-gamma", 0);
  r.max_growth = a.number("max-growth", 1.25);
  if (!(r.max_growth >= 1)) throw Error("--max-growth: must be >= 1");
  r.max_denoisers_per_context = static_cast<int>(a.integer("max-denoisers", 8, 1, 256));
  r.max_gpus = static_cast<int>(a.integer("max-gpus", 4096, 1, 1 << 20));
  r.requests = static_cast<int>(a.integer("requests", 2000, 20, 10000000));
  r.seed = a.seed("seed", 1);
  const PlanResult p = plan(r, profile);
  nlohmann::json j = {{"profile", profile.name}, {"rate", r.rate}, {"input_len", r.input.str()},
                      {"output_len", r.output.str()},
                      {"slo", {{"ttft_s", r.slo.ttft_s}, {"itl_s", r.slo.itl_s}, {"e2e_s", r.slo.e2e_s}}},
                      {"min_good_fraction", r.min_good_fraction}, {"found", p.found},
                      {"candidates", nlohmann::json::array()}};
  if (p.found) j["recommendation"] = to_json(p.best);
  for (const auto& c : p.tried) j["candidates"].push_back(to_json(c));
  std::cout << j.dump(2) << "\n";
  if (!p.found) {
    std::fprintf(stderr, "twotower plan: no cluster within %d GPUs meets the SLOs at %g requests/s\n", r.max_gpus, r.rate);
    return 1;
  }
  return 0;
}

}  // namespace tt::cli
