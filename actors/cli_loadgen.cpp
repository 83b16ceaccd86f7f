// `twotower loadgen`: load an OpenAI completions endpoint (closed or open loop,
// sweeps, trace replay) and report latency, throughput and goodput; or serve a
// fake endpoint with known delays (--serve-fake), or measure loadgen itself (--self-bench).
#include <cstdio>
#include <iostream>
#include <sstream>
#include <thread>

#include "actors/cli_args.hpp"
#include "actors/commands.hpp"
#include "model/error.hpp"
#include "tools/loadgen/fake_server.hpp"
#include "tools/loadgen/report.hpp"
#include "tools/loadgen/runner.hpp"
#include "tools/loadgen/self_bench.hpp"

namespace tt::cli {
namespace {

using namespace tt::capacity;

constexpr const char* kHelp =
    "usage: twotower loadgen --url http://HOST:PORT[/v1/completions] (--concurrency 1,4,16 | --rate 2,4,8 |\n"
    "                        --trace FILE [--trace-speedup 1,2]) [options]\n"
    "       twotower loadgen --serve-fake PORT [--fake-ttft 20ms,40ms] [--fake-chunk-gap 10ms]\n"
    "                        [--fake-tokens-per-chunk 16] [--fake-tokens-per-forward 2] [--fake-max-requests N]\n"
    "       twotower loadgen --self-bench [--duration 3] [--concurrency 64]\n"
    "\n"
    "Load: closed loop (--concurrency: requests in flight, one sweep point per value) or open loop\n"
    "(--rate: requests/s per point; --arrival poisson|gamma|constant, --burstiness B for gamma).\n"
    "  --requests N | --duration S   per point (default 100 requests); --warmup S: not measured\n"
    "  --input-len DIST --output-len DIST   fixed:N, uniform:A:B, normal:MEAN:STD, lognormal:MEDIAN:SIGMA\n"
    "  --trace FILE   replay Mooncake JSONL (timestamp ms, input_length, output_length, hash_ids)\n"
    "  --no-stream  --prompt-format ids|text  --vocab 4096  --model NAME  --seed S  --timeout 600\n"
    "  --slo ttft=2s,itl=50ms[,e2e=10s]   goodput: requests/s meeting every objective\n"
    "  --csv FILE  --svg FILE   one row / one point per sweep value; JSON goes to stdout\n";

std::vector<double> numbers_in(const std::string& text, const std::string& option, double lo, double hi) {
  return parse_number_list(text, option, [=](double v) { return v >= lo && v <= hi; },
                           "a number in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
}

int serve_fake(const Args& a) {
  FakeServerOptions o;
  o.port = static_cast<uint16_t>(a.integer("serve-fake", 0, 0, 65535));
  if (a.has("fake-ttft")) o.ttft_s = parse_durations(*a.str("fake-ttft"), "--fake-ttft");
  if (a.has("fake-chunk-gap")) o.chunk_gap_s = parse_durations(*a.str("fake-chunk-gap"), "--fake-chunk-gap").at(0);
  o.tokens_per_chunk = static_cast<int>(a.integer("fake-tokens-per-chunk", 1, 1, 4096));
  o.tokens_per_forward = a.number("fake-tokens-per-forward", 2.0);
  if (!(o.tokens_per_forward >= 1 && o.tokens_per_forward <= 4096))
    throw Error("--fake-tokens-per-forward: must be in [1, 4096]");
  o.max_requests = a.integer("fake-max-requests", 0, 0, int64_t{1} << 40);
  run_fake_server(o, [&](uint16_t port) {
    std::printf("listening on %s:%u\n", o.host.c_str(), port);
    std::fflush(stdout);
  });
  return 0;
}

}  // namespace

int run_loadgen(const std::vector<std::string>& argv) {
  for (const auto& x : argv)
    if (x == "--help" || x == "-h") return std::fputs(kHelp, stdout), 0;
  Args a(argv,
         {"url", "concurrency", "rate", "trace", "trace-speedup", "arrival", "burstiness", "requests", "duration",
          "warmup", "input-len", "output-len", "prompt-format", "vocab", "model", "seed", "timeout", "slo", "csv",
          "svg", "serve-fake", "fake-ttft", "fake-chunk-gap", "fake-tokens-per-chunk", "fake-tokens-per-forward",
          "fake-max-requests"},
         {"no-stream", "self-bench"});
  if (a.has("serve-fake")) return serve_fake(a);
  if (a.flag("self-bench")) {
    const auto j = self_bench(a.number("duration", 3.0), static_cast<int>(a.integer("concurrency", 64, 1, 4096)));
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  if (!a.has("url")) throw Error("--url is required (or --serve-fake / --self-bench); see --help");
  const int modes = a.has("concurrency") + a.has("rate") + a.has("trace");
  if (modes != 1) throw Error("give exactly one of --concurrency, --rate, --trace");

  RunOptions ro;
  ro.target = parse_url(*a.str("url"));
  ro.request.stream = !a.flag("no-stream");
  const std::string pf = a.str("prompt-format", "ids");
  if (pf != "ids" && pf != "text") throw Error("--prompt-format: 'ids' or 'text' (got '" + pf + "')");
  ro.request.prompt_as_text = pf == "text";
  ro.request.vocab = static_cast<int>(a.integer("vocab", 4096, 8, 1 << 24));
  ro.request.model = a.str("model", "twotower");
  ro.warmup_s = a.number("warmup", 0);
  ro.duration_s = a.number("duration", 0);
  ro.timeout_s = a.number("timeout", 600);
  if (!(ro.warmup_s >= 0) || !(ro.duration_s >= 0) || !(ro.timeout_s > 0))
    throw Error("--warmup, --duration must be >= 0 and --timeout > 0");
  const int requests = static_cast<int>(a.integer("requests", ro.duration_s > 0 ? 0 : 100, 0, 100000000));
  const uint64_t seed = a.seed("seed", 1);
  const LengthDist in = LengthDist::parse(a.str("input-len", "fixed:128"), "--input-len");
  const LengthDist out = LengthDist::parse(a.str("output-len", "fixed:64"), "--output-len");
  const Slo slo = a.has("slo") ? Slo::parse(*a.str("slo")) : Slo{};

  std::vector<Summary> points;
  if (a.has("concurrency")) {
    for (double c : numbers_in(*a.str("concurrency"), "concurrency", 1, 65536)) {
      const auto specs = synthesize_lengths(in, out, requests > 0 ? requests : 1 << 16, seed);
      SpecSource next = [&](size_t i) -> std::optional<RequestSpec> {
        if (requests > 0 && i >= specs.size()) return std::nullopt;
        return specs[i % specs.size()];
      };
      Summary s = summarize(run_closed(ro, static_cast<int>(c), next), slo);
      s.label = "concurrency=" + format_number(c);
      s.concurrency = static_cast<int>(c);
      points.push_back(std::move(s));
    }
  } else if (a.has("rate")) {
    ArrivalProcess ap;
    ap.kind = ArrivalProcess::parse_kind(a.str("arrival", "poisson"));
    ap.burstiness = a.number("burstiness", 1.0);
    for (double r : numbers_in(*a.str("rate"), "rate", 1e-6, 1e7)) {
      ap.rate = r;
      const auto specs = synthesize(ap, in, out, requests, ro.warmup_s + ro.duration_s, seed);
      Summary s = summarize(run_open(ro, specs), slo);
      s.label = "rate=" + format_number(r);
      s.offered_rate = r;
      points.push_back(std::move(s));
    }
  } else {
    for (double sp : numbers_in(a.str("trace-speedup", "1"), "trace-speedup", 1e-6, 1e6)) {
      const auto specs = read_mooncake_trace(*a.str("trace"), sp);
      Summary s = summarize(run_open(ro, specs), slo);
      s.label = "trace_speedup=" + format_number(sp);
      s.offered_rate = specs.size() > 1 ? static_cast<double>(specs.size() - 1) / specs.back().at_s : 0;
      points.push_back(std::move(s));
    }
  }
  nlohmann::json j = {{"url", *a.str("url")}, {"stream", ro.request.stream}, {"input_len", in.str()},
                      {"output_len", out.str()}, {"warmup_s", ro.warmup_s}, {"points", nlohmann::json::array()}};
  if (slo.any()) j["slo"] = {{"ttft_s", slo.ttft_s}, {"itl_s", slo.itl_s}, {"e2e_s", slo.e2e_s}};
  for (const auto& p : points) j["points"].push_back(to_json(p));
  if (a.has("csv")) write_file(*a.str("csv"), to_csv(points));
  if (a.has("svg")) write_file(*a.str("svg"), to_svg(points, "twotower loadgen: latency vs throughput"));
  std::cout << j.dump(2) << "\n";
  return 0;
}

}  // namespace tt::cli
