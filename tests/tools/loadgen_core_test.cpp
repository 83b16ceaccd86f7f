// loadgen's pure parts: workload draws, trace replay, HTTP/SSE parsing, percentiles, SLO goodput.
#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>

#include "model/error.hpp"
#include "tools/loadgen/http.hpp"
#include "tools/loadgen/openai.hpp"
#include "tools/loadgen/stats.hpp"
#include "tools/loadgen/workload.hpp"

using namespace tt::capacity;

TEST(Percentiles, NearestRank) {
  std::vector<double> v;
  for (int i = 100; i >= 1; --i) v.push_back(i);
  const auto p = percentiles(v);
  EXPECT_EQ(p.p50, 50);
  EXPECT_EQ(p.p90, 90);
  EXPECT_EQ(p.p99, 99);
  EXPECT_EQ(p.max, 100);
  EXPECT_DOUBLE_EQ(p.mean, 50.5);
  EXPECT_EQ(percentiles({7}).p99, 7);
}

TEST(Slo, ParsesAndJudges) {
  const Slo s = Slo::parse("ttft=2s,itl=50ms");
  EXPECT_DOUBLE_EQ(s.ttft_s, 2.0);
  EXPECT_DOUBLE_EQ(s.itl_s, 0.05);
  RequestRecord r;
  r.ok = true;
  r.start_s = 1, r.first_token_s = 2.5, r.end_s = 3;
  r.itl_s = {0.04, 0.05};
  EXPECT_TRUE(s.met(r));
  r.itl_s = {0.04, 0.07};  // mean 55 ms
  EXPECT_FALSE(s.met(r));
  r.itl_s = {};
  r.first_token_s = 3.5;
  EXPECT_FALSE(s.met(r));
  EXPECT_THROW(Slo::parse("ttft=2"), tt::Error);
  EXPECT_THROW(Slo::parse("latency=2s"), tt::Error);
  EXPECT_THROW(Slo::parse("ttft=-1s"), tt::Error);
}

TEST(Summary, GoodputAndWarmup) {
  std::vector<RequestRecord> rs(10);
  for (int i = 0; i < 10; ++i) {
    auto& r = rs[static_cast<size_t>(i)];
    r.ok = true, r.start_s = i, r.first_token_s = i + 0.1 * (i % 2 ? 3 : 1), r.end_s = i + 1, r.output_tokens = 10;
    r.denoiser_forwards = 4;
  }
  rs[0].measured = false;
  const Summary s = summarize(rs, Slo::parse("ttft=200ms"));
  EXPECT_EQ(s.completed, 9u);
  EXPECT_DOUBLE_EQ(s.window_s, 9.0);  // 1 .. 10
  EXPECT_DOUBLE_EQ(s.requests_per_s, 1.0);
  EXPECT_DOUBLE_EQ(s.tokens_per_forward, 2.5);
  EXPECT_NEAR(s.good_fraction, 4.0 / 9.0, 1e-12);  // even i in 2..8 have ttft 0.1 s
}

TEST(Workload, PoissonAndGammaGaps) {
  ArrivalProcess p;
  p.rate = 50;
  const auto a = synthesize(p, LengthDist::parse("fixed:8", "-"), LengthDist::parse("uniform:1:4", "-"), 20000, 0, 3);
  ASSERT_EQ(a.size(), 20000u);
  EXPECT_NEAR(a.back().at_s / 20000, 0.02, 0.02 * 0.03);
  for (const auto& r : a) ASSERT_TRUE(r.output_len >= 1 && r.output_len <= 4 && r.input_len == 8);
  // Gamma with shape k: coefficient of variation of the gaps is 1/sqrt(k).
  for (double k : {0.25, 1.0, 4.0}) {
    p.kind = ArrivalProcess::Kind::gamma;
    p.burstiness = k;
    const auto g = synthesize(p, LengthDist{}, LengthDist{}, 40000, 0, 5);
    double sum = 0, sq = 0, prev = 0;
    for (const auto& r : g) sum += r.at_s - prev, sq += (r.at_s - prev) * (r.at_s - prev), prev = r.at_s;
    const double mean = sum / g.size(), var = sq / g.size() - mean * mean;
    EXPECT_NEAR(mean, 0.02, 0.02 * 0.05) << k;
    EXPECT_NEAR(std::sqrt(var) / mean, 1 / std::sqrt(k), 0.06 / std::sqrt(k)) << k;
  }
  // Duration mode stops at the horizon; the same seed gives the same workload.
  p.kind = ArrivalProcess::Kind::poisson;
  const auto d1 = synthesize(p, LengthDist{}, LengthDist{}, 0, 10, 9), d2 = synthesize(p, LengthDist{}, LengthDist{}, 0, 10, 9);
  ASSERT_FALSE(d1.empty());
  EXPECT_LT(d1.back().at_s, 10);
  EXPECT_EQ(d1.size(), d2.size());
  EXPECT_EQ(d1.back().at_s, d2.back().at_s);
}

TEST(Workload, BadLengthSpecsAreRefused) {
  for (const char* bad : {"", "fixed", "fixed:x", "uniform:5:2", "normal:10", "zipf:3", "fixed:0", "lognormal:10:-1"})
    EXPECT_THROW(LengthDist::parse(bad, "--input-len"), tt::Error) << bad;
  EXPECT_EQ(LengthDist::parse("64", "-").sample(*std::make_unique<Rng>(1)), 64);
}

TEST(Workload, MooncakeTrace) {
  const std::string path = testing::TempDir() + "/trace.jsonl";
  {
    std::ofstream f(path);
    f << R"({"timestamp": 1000, "input_length": 700, "output_length": 5, "hash_ids": [1, 2]})" << "\n\n"
      << R"({"timestamp": 3000, "input_length": 600, "output_length": 7, "hash_ids": [1, 3]})" << "\n";
  }
  const auto t = read_mooncake_trace(path, 2.0);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_DOUBLE_EQ(t[1].at_s, 1.0);  // 2 s apart, replayed twice as fast
  EXPECT_EQ(t[1].output_len, 7);
  const auto a = prompt_ids(t[0], 0, 4096, 4), b = prompt_ids(t[1], 1, 4096, 4);
  ASSERT_EQ(a.size(), 700u);
  ASSERT_EQ(b.size(), 600u);
  EXPECT_TRUE(std::equal(a.begin(), a.begin() + 512, b.begin()));  // shared first block
  EXPECT_NE(std::vector<int32_t>(a.begin() + 512, a.begin() + 600), std::vector<int32_t>(b.begin() + 512, b.end()));
  {
    std::ofstream f(path);
    f << R"({"timestamp": 1000, "input_length": 700})" << "\n";
  }
  try {
    read_mooncake_trace(path, 1.0);
    FAIL();
  } catch (const tt::Error& e) {
    EXPECT_NE(std::string(e.what()).find("trace.jsonl:1: missing numeric field 'output_length'"), std::string::npos);
  }
}

TEST(Http, ChunkedResponseSplitAnywhere) {
  const std::string msg =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/event-stream\r\n\r\n"
      "f\r\ndata: {\"a\":1}\r\n\r\n" "f\r\n\ndata: [DONE]\n\n\r\n" "0\r\n\r\nHTTP/1.1 200";
  for (size_t cut = 0; cut < msg.size(); ++cut) {
    std::string body;
    ResponseParser p([&](std::string_view b) { body.append(b); });
    const std::string_view first = std::string_view(msg).substr(0, cut), second = std::string_view(msg).substr(cut);
    std::string rest;
    const size_t used = p.feed(first);
    if (p.done()) rest = std::string(first.substr(used)) + std::string(second);
    else rest = std::string(second.substr(p.feed(second)));
    ASSERT_TRUE(p.done()) << cut;
    EXPECT_EQ(rest, "HTTP/1.1 200") << cut;
    EXPECT_EQ(body, "data: {\"a\":1}\r\n\ndata: [DONE]\n\n") << cut;
    std::vector<std::string> events;
    SseParser sse([&](const std::string& d) { events.push_back(d); });
    for (char c : body) sse.feed(std::string_view(&c, 1));
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0], "{\"a\":1}");
    EXPECT_EQ(events[1], "[DONE]");
  }
  ResponseParser bad([](std::string_view) {});
  EXPECT_THROW(bad.feed("SMTP nonsense\r\n"), tt::Error);
}

TEST(OpenAi, StreamAccounting) {
  RequestRecord r;
  r.start_s = 0;
  ResponseConsumer c(true, r);
  c.body("data: {\"choices\":[{\"text\":\"ab\",\"token_ids\":[5,6]}]}\n\n", 0.5);
  c.body("data: {\"choices\":[{\"text\":\"cdef\",\"token_ids\":[1,2,3,4]}]}\n\n", 0.9);
  c.body("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":6},"
         "\"twotower\":{\"denoiser_forwards\":3,\"tokens_per_forward\":2}}\n\ndata: [DONE]\n\n", 0.95);
  c.finish(200, 1.0);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.output_tokens, 6);
  EXPECT_EQ(r.denoiser_forwards, 3);
  EXPECT_DOUBLE_EQ(r.first_token_s, 0.5);
  ASSERT_EQ(r.itl_s.size(), 4u);  // the second chunk's 4 tokens, 0.1 s each
  EXPECT_NEAR(r.itl_s[0], 0.1, 1e-12);
  RequestRecord e;
  ResponseConsumer ce(true, e);
  ce.body("data: {\"error\":{\"message\":\"prompt too long\"}}\n\n", 0.1);
  ce.finish(200, 0.2);
  EXPECT_FALSE(e.ok);
  EXPECT_EQ(e.error, "prompt too long");
  RequestRecord t;
  ResponseConsumer ct(true, t);
  ct.body("data: {\"choices\":[{\"text\":\"x\"}]}\n\n", 0.1);
  ct.finish(200, 0.2);
  EXPECT_EQ(t.error, "stream ended without [DONE]");
  RequestRecord nf;
  ResponseConsumer cn(true, nf);
  cn.body(R"({"error":{"message":"The model 'x' does not exist"}})", 0.1);
  cn.finish(404, 0.2);
  EXPECT_EQ(nf.error, "HTTP 404: The model 'x' does not exist");
}

TEST(OpenAi, UrlParsing) {
  const Target t = parse_url("http://localhost:8123");
  EXPECT_EQ(t.host, "localhost");
  EXPECT_EQ(t.port, 8123);
  EXPECT_EQ(t.path, "/v1/completions");
  EXPECT_EQ(parse_url("http://h:1/x/y").path, "/x/y");
  for (const char* bad : {"https://h:1", "h:1", "http://:80", "http://h:0", "http://h:99999", "http://h:x"})
    EXPECT_THROW(parse_url(bad), tt::Error) << bad;
}
