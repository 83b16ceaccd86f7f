// Migration: two context actors behind one router; the one serving a stream is
// killed with SIGKILL mid-stream; the stream goes on on the other and equals
// the fault-free greedy output.
#include <gtest/gtest.h>

#include "tests/router/router_fixture.hpp"

namespace tt::test {
namespace {

using json = nlohmann::json;

size_t blocks_sent(RouterTest& t, size_t context) {
  return count_of(read_file(t.path("context" + std::to_string(context) + ".err")), "sent to denoiser");
}

TEST_F(RouterTest, AStreamSurvivesItsContextActorBeingKilled) {
  start_context();
  start_context();
  start_router({"--policy", "least-loaded"}, true, 600000);
  // ignore_eos: the stream is long whatever the model, so the kill lands mid-way.
  const json body{{"model", "default"}, {"prompt", "Once upon a time"}, {"max_tokens", 480}, {"stream", true},
                  {"ignore_eos", true}};
  const auto truth = generate_connect({"--prompt", "Once upon a time", "--max-tokens", "480", "--ignore-eos"}, 1);
  ASSERT_FALSE(truth.is_discarded());
  // (Probes send blocks too: the router above probes once, at start-up.)
  HttpClient c(port_);
  ASSERT_EQ(c.start_stream("/v1/completions", body.dump()).status, 200);
  std::vector<std::string> events;
  const size_t b0 = blocks_sent(*this, 0), b1 = blocks_sent(*this, 1);
  auto first = c.next_event();
  ASSERT_TRUE(first.has_value());
  events.push_back(*first);
  ASSERT_EQ(json::parse(*first)["choices"][0]["finish_reason"], nullptr) << "finished before the kill";
  // The context actor serving the stream is the one sending blocks: kill it as
  // soon as that shows (a fixed wait could outlast the whole generation).
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (blocks_sent(*this, 0) - b0 == blocks_sent(*this, 1) - b1 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  const size_t victim = blocks_sent(*this, 0) - b0 > blocks_sent(*this, 1) - b1 ? 0 : 1;
  kill_context(victim);
  while (auto e = c.next_event()) events.push_back(*e);
  const Streamed s = gather(events);
  EXPECT_TRUE(s.done);
  EXPECT_EQ(s.text, truth["text"]);
  EXPECT_EQ(s.last["usage"]["completion_tokens"], truth["generated_tokens"]);
  EXPECT_EQ(s.last["choices"][0]["finish_reason"], truth["finish_reason"]);
  EXPECT_EQ(metric("twotower_router_migrations_total"), 1);
  EXPECT_EQ(metric("twotower_cluster_peer_events_total{role=\"context\",event=\"down\"}"), 1);
  // The router goes on serving with the survivor.
  const auto r = HttpClient(port_).post("/v1/completions", json{{"model", "default"}, {"prompt", "Hello"}, {"max_tokens", 8}}.dump());
  EXPECT_EQ(r.status, 200) << r.body;
}

}  // namespace
}  // namespace tt::test
