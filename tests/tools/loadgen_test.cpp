// loadgen as a process against its fake endpoint (another process) with known
// delays: the reported percentiles, inter-token latency, tokens per forward and
// goodput must match what the server was told to do.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/actors/cluster_fixture.hpp"
#include "tests/support/process.hpp"

namespace tt::test {
namespace {

class LoadgenTest : public ::testing::Test {
protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tt-loadgen-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override {
    server_.kill_now();
    std::system(("rm -rf " + dir_).c_str());
  }
  // Starts the fake endpoint; returns its URL.
  std::string serve(const std::vector<std::string>& extra) {
    std::vector<std::string> args{"loadgen", "--serve-fake", "0"};
    args.insert(args.end(), extra.begin(), extra.end());
    server_ = Child(args, dir_ + "/server.out", dir_ + "/server.err");
    EXPECT_TRUE(wait_for_text(dir_ + "/server.out", "listening on", 1, std::chrono::seconds(20)))
        << read_file(dir_ + "/server.err");
    const std::string out = read_file(dir_ + "/server.out");
    return "http://" + out.substr(out.find("on ") + 3, out.find('\n') - out.find("on ") - 3);
  }
  nlohmann::json run(const std::string& args) {
    const Output o = run_binary("loadgen " + args + " 2>" + dir_ + "/loadgen.err");
    EXPECT_EQ(o.status, 0) << read_file(dir_ + "/loadgen.err");
    return nlohmann::json::parse(o.out);
  }
  std::string dir_;
  Child server_;
};

// Ten TTFT values 40..400 ms, round robin; 4-token chunks 20 ms apart.
const std::vector<std::string> kDelays = {"--fake-ttft", "40ms,80ms,120ms,160ms,200ms,240ms,280ms,320ms,360ms,400ms",
                                          "--fake-chunk-gap", "20ms", "--fake-tokens-per-chunk", "4",
                                          "--fake-tokens-per-forward", "2.5"};

TEST_F(LoadgenTest, ClosedLoopStreamingMatchesKnownDelays) {
  const std::string url = serve(kDelays);
  const auto j = run("--url " + url + " --concurrency 10 --requests 100 --input-len fixed:32 --output-len fixed:16" +
                     " --slo ttft=220ms --csv " + dir_ + "/out.csv --svg " + dir_ + "/out.svg");
  ASSERT_EQ(j["points"].size(), 1u);
  const auto& p = j["points"][0];
  EXPECT_EQ(p["completed"], 100);
  EXPECT_EQ(p["errors"], 0);
  // The server's delays are minimums, so the lower bounds are exact; a busy machine
  // (ctest -j2 beside cluster tests) only adds, hence the generous upper bounds.
  const double slack = 0.12;
  const double p50 = p["ttft_s"]["p50"].get<double>(), p90 = p["ttft_s"]["p90"].get<double>();
  EXPECT_GE(p50, 0.200);
  EXPECT_LE(p50, 0.200 + slack);
  EXPECT_GE(p90, 0.360);
  EXPECT_LE(p90, 0.360 + slack);
  EXPECT_GE(p90 - p50, 0.100);  // 160 ms apart in the server's list
  EXPECT_GE(p["ttft_s"]["max"].get<double>(), 0.400);
  // 16 tokens in 4 chunks: 3 gaps of >= 20 ms over 4 tokens each = >= 5 ms per token.
  EXPECT_GE(p["itl_s"]["p50"].get<double>(), 0.005);
  EXPECT_LE(p["itl_s"]["p50"].get<double>(), 0.005 + 0.01);
  EXPECT_EQ(p["itl_s"]["count"], 100 * 12);
  EXPECT_GE(p["e2e_s"]["p50"].get<double>(), 0.260);
  EXPECT_LE(p["e2e_s"]["p50"].get<double>(), 0.260 + slack);
  EXPECT_NEAR(p["tokens_per_forward"].get<double>(), 16.0 / 7.0, 1e-9);  // ceil(16 / 2.5) = 7 forwards
  // TTFT <= 220 ms holds at most for the 40..200 ms half; delays can only push some out.
  EXPECT_GE(p["good_fraction"].get<double>(), 0.2);
  EXPECT_LE(p["good_fraction"].get<double>(), 0.5);
  const std::string csv = read_file(dir_ + "/out.csv");
  EXPECT_EQ(count_of(csv, "\n"), 2u);
  EXPECT_EQ(csv.rfind("label,offered_rate", 0), 0u);
  EXPECT_NE(read_file(dir_ + "/out.svg").find("<polyline"), std::string::npos);
}

TEST_F(LoadgenTest, OpenLoopRateSweepAndNonStreaming) {
  const std::string url = serve({"--fake-ttft", "30ms", "--fake-chunk-gap", "10ms", "--fake-tokens-per-chunk", "8"});
  const auto j = run("--url " + url + " --rate 20,60 --requests 60 --output-len fixed:32 --no-stream --arrival gamma" +
                     " --burstiness 2");
  ASSERT_EQ(j["points"].size(), 2u);
  for (const auto& p : j["points"]) {
    EXPECT_EQ(p["completed"], 60);
    // Non-streaming: the whole answer after 30 ms + 3 gaps of 10 ms.
    EXPECT_GE(p["e2e_s"]["p50"].get<double>(), 0.060);
    EXPECT_LE(p["e2e_s"]["p50"].get<double>(), 0.060 + 0.12);
    const double rate = p["offered_rate"].get<double>();
    EXPECT_NEAR(p["requests_per_s"].get<double>(), rate, rate * 0.35) << p.dump();
  }
}

TEST_F(LoadgenTest, TraceReplayKeepsTimestamps) {
  const std::string url = serve({"--fake-ttft", "5ms"});
  {
    std::ofstream f(dir_ + "/t.jsonl");
    for (int i = 0; i < 5; ++i)
      f << R"({"timestamp": )" << 1000 + 250 * i << R"(, "input_length": 600, "output_length": 4, "hash_ids": [7, )"
        << i << "]}\n";
  }
  const auto j = run("--url " + url + " --trace " + dir_ + "/t.jsonl --trace-speedup 1,2");
  ASSERT_EQ(j["points"].size(), 2u);
  EXPECT_EQ(j["points"][0]["completed"], 5);
  // 4 gaps of 250 ms (then 125 ms), plus the last response; a busy machine only adds.
  EXPECT_GE(j["points"][0]["window_s"].get<double>(), 0.99);
  EXPECT_LE(j["points"][0]["window_s"].get<double>(), 1.12);
  EXPECT_GE(j["points"][1]["window_s"].get<double>(), 0.49);
  EXPECT_LE(j["points"][1]["window_s"].get<double>(), 0.62);
  EXPECT_NEAR(j["points"][0]["input_tokens_per_s"].get<double>(), 5 * 600 / 1.0, 300);  // usage.prompt_tokens
}

TEST_F(LoadgenTest, UnreachableEndpointIsCountedNotFatal) {
  // Bind a port via the fake server, then stop it: nothing listens there afterwards.
  const std::string url = serve({});
  server_.kill_now();
  const auto j = run("--url " + url + " --concurrency 2 --requests 4");
  EXPECT_EQ(j["points"][0]["errors"], 4);
  EXPECT_EQ(j["points"][0]["completed"], 0);
  EXPECT_NE(j["points"][0]["error_samples"][0].get<std::string>().find("connection"), std::string::npos);
}

TEST_F(LoadgenTest, BadOptionsGiveOneLine) {
  for (const std::string bad : {"--url ftp://x --rate 1", "--url http://h:1", "--url http://h:1 --rate 0",
                                "--url http://h:1 --rate 1 --slo ttft=fast", "--url http://h:1 --concurrency 2 --rate 1",
                                "--url http://h:1 --rate 1 --input-len zipf:2", "--serve-fake 0 --fake-ttft 3parsecs"}) {
    const Output o = run_binary("loadgen " + bad + " 2>" + dir_ + "/err");
    EXPECT_EQ(o.status, 2) << bad;
    EXPECT_TRUE(o.out.empty()) << bad;
    const std::string err = read_file(dir_ + "/err");
    EXPECT_EQ(count_of(err, "\n"), 1u) << bad << ": " << err;
    EXPECT_EQ(err.rfind("twotower loadgen: error: ", 0), 0u) << err;
  }
}

}  // namespace
}  // namespace tt::test
