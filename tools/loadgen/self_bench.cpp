// Closed loop at high concurrency against an in-process fake server thread.
#include "tools/loadgen/self_bench.hpp"

#include <thread>

#include "tools/loadgen/fake_server.hpp"
#include "tools/loadgen/runner.hpp"

namespace tt::capacity {

nlohmann::json self_bench(double seconds_per_variant, int concurrency) {
  nlohmann::json out = {{"benchmark", "loadgen_max_rate"},
                        {"concurrency", concurrency},
                        {"seconds_per_variant", seconds_per_variant},
                        {"hardware_threads", std::thread::hardware_concurrency()},
                        {"note", "client and fake server share this machine (one thread each)"},
                        {"variants", nlohmann::json::array()}};
  for (const bool stream : {false, true}) {
    for (const int tokens : {1, 16}) {
      FakeServerOptions fo;
      fo.tokens_per_chunk = 16;
      BackgroundFakeServer server(fo);
      RunOptions ro;
      ro.target.port = server.port();
      ro.request.stream = stream;
      ro.duration_s = seconds_per_variant;
      ro.timeout_s = 30;
      RequestSpec spec;
      spec.input_len = 16;
      spec.output_len = tokens;
      const auto records = run_closed(ro, concurrency, [&](size_t) { return std::optional<RequestSpec>(spec); });
      const Summary s = summarize(records, Slo{});
      out["variants"].push_back({{"stream", stream},
                                 {"output_tokens", tokens},
                                 {"requests_per_s", s.requests_per_s},
                                 {"completed", s.completed},
                                 {"errors", s.errors},
                                 {"e2e_p50_s", s.e2e.p50},
                                 {"e2e_p99_s", s.e2e.p99}});
    }
  }
  return out;
}

}  // namespace tt::capacity
