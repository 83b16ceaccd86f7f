// Admission and deadlines against real processes: a full queue answers 429
// with Retry-After, a passed deadline 504, and a client that disconnects
// cancels its generation upstream (its slot and cache are freed).
#include <gtest/gtest.h>

#include "tests/router/router_fixture.hpp"

namespace tt::test {
namespace {

using json = nlohmann::json;

// ignore_eos: exactly max_tokens tokens, however the model would end.
std::string long_request(bool stream, int max_tokens = 512) {
  return json{{"model", "default"}, {"prompt", "Once upon a time"}, {"max_tokens", max_tokens}, {"stream", stream},
              {"ignore_eos", true}}
      .dump();
}

// Blocks sent to denoisers so far, from the context's --log-blocks lines.
size_t blocks_sent(RouterTest& t, size_t context) {
  return count_of(read_file(t.path("context" + std::to_string(context) + ".err")), "sent to denoiser");
}

TEST_F(RouterTest, AFullQueueAnswers429WithRetryAfter) {
  start_context();
  start_router({"--max-running", "1", "--max-queue", "1"});
  HttpClient running(port_), waiting(port_), refused(port_);
  ASSERT_EQ(running.start_stream("/v1/completions", long_request(true)).status, 200);  // running
  waiting.send(boost::beast::http::verb::post, "/v1/completions", long_request(false, 16));  // queued
  // The queued one must have reached the router before the third arrives.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (metric("twotower_router_requests_waiting") != 1 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(metric("twotower_router_requests_waiting"), 1);
  EXPECT_EQ(metric("twotower_router_requests_running"), 1);
  const auto r = refused.post("/v1/completions", long_request(false, 16));
  EXPECT_EQ(r.status, 429) << r.body;
  EXPECT_EQ(r.headers.at("Retry-After"), "1");
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "queue_full");
  EXPECT_EQ(metric("twotower_router_rejections_total{reason=\"queue_full\"}"), 1);
  // Streaming and queued requests still complete.
  const Streamed s = gather(running.all_events());
  EXPECT_TRUE(s.done);
  EXPECT_EQ(s.last["usage"]["completion_tokens"], 512);
  EXPECT_EQ(waiting.read_response().status, 200);
  EXPECT_EQ(refused.post("/v1/completions", long_request(false, 16)).status, 200);
}

TEST_F(RouterTest, APassedDeadlineAnswers504AndFreesTheContext) {
  start_context();
  start_router({"--timeout", "2"}, true, 600000);
  HttpClient c(port_);
  const auto started = std::chrono::steady_clock::now();
  // gamma 1 commits one token per denoiser forward (no confidence exceeds 1): 4000
  // forwards, several seconds even on a fast machine.
  auto slow = json::parse(long_request(false, 4000));
  slow["gamma"] = 1.0;
  const auto r = c.post("/v1/completions", slow.dump());
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_EQ(r.status, 504) << r.body;
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "deadline_exceeded");
  EXPECT_LT(took, 5.0);  // 2 s deadline, plus a loaded machine's slack
  EXPECT_EQ(metric("twotower_router_requests_total{outcome=\"deadline\"}"), 1);
  // The context stops working on it: no more blocks are sent after a moment.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const size_t blocks = blocks_sent(*this, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  EXPECT_EQ(blocks_sent(*this, 0), blocks);
  // A stream whose deadline passes mid-way ends with an error event (small
  // blocks, so that the first arrives well before the deadline; gamma 1, one
  // token per forward as above, so that it cannot finish in time).
  auto body = json::parse(long_request(true, 4000));
  body["block_size"] = 4;
  body["steps_per_block"] = 4;
  body["gamma"] = 1.0;
  ASSERT_EQ(c.start_stream("/v1/completions", body.dump()).status, 200);
  const auto events = c.all_events();
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events.back(), "[DONE]");
  EXPECT_EQ(json::parse(events[events.size() - 2])["error"]["code"], "deadline_exceeded");
}

TEST_F(RouterTest, AClientThatDisconnectsCancelsItsGenerationUpstream) {
  start_context();
  start_router({"--max-running", "1", "--max-queue", "0"}, true, 600000);
  for (bool stream : {false, true}) {
    const size_t before = blocks_sent(*this, 0);
    {
      HttpClient c(port_);
      c.send(boost::beast::http::verb::post, "/v1/completions", long_request(stream, 2048));
      // Wait until it is generating, then go away.
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while (blocks_sent(*this, 0) < before + 2 && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      ASSERT_GE(blocks_sent(*this, 0), before + 2);
      c.close();
    }
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    const double want = stream ? 2 : 1;
    while (metric("twotower_router_requests_total{outcome=\"cancelled\"}") < want &&
           std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(metric("twotower_router_requests_total{outcome=\"cancelled\"}"), want) << "stream " << stream;
    // Upstream stopped: no more blocks.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const size_t blocks = blocks_sent(*this, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    EXPECT_EQ(blocks_sent(*this, 0), blocks) << "stream " << stream;
    EXPECT_LT(blocks, before + 2048 / 16);
    // Its slot is free: with --max-running 1 and no queue a new request is served.
    EXPECT_EQ(HttpClient(port_).post("/v1/completions", long_request(false, 16)).status, 200);
  }
}

}  // namespace
}  // namespace tt::test
