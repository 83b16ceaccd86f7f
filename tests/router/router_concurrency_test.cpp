// Many streams at once through a router with several io threads, against real
// processes: every stream is complete (ends with [DONE]), carries only its own
// request's id, and equals the same request answered without streaming; the
// router records its own overhead for each. Regression: a spurious readiness
// report on a socket once made the router take the client for gone and drop
// its stream without an answer (seen with --http-threads 2).
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <thread>
#include <vector>

#include "tests/router/router_fixture.hpp"

namespace tt::test {
namespace {

using json = nlohmann::json;

TEST_F(RouterTest, ManyConcurrentStreamsAreCompleteUnmixedAndEqualToWholeAnswers) {
  start_context();
  start_router({"--http-threads", "4", "--max-running", "256", "--max-queue", "256"});
  constexpr int kStreams = 64;
  struct Result {
    Streamed streamed;
    std::set<std::string> ids;
    std::string whole_text, whole_finish;
    int status = 0;
  };
  std::vector<Result> results(kStreams);
  std::vector<std::thread> threads;
  for (int i = 0; i < kStreams; ++i)
    threads.emplace_back([&, i] {
      Result& r = results[i];
      try {
        HttpClient c(port_);
        // Different prompts, so that a mixed-up stream shows.
        const json body{{"model", "default"}, {"prompt", {1, 40 + i, 41 + i, 42 + 2 * i}}, {"max_tokens", 12},
                        {"mode", "ar"}};
        json streaming = body;
        streaming["stream"] = true;
        r.status = c.start_stream("/v1/completions", streaming.dump()).status;
        if (r.status != 200) return;
        const auto events = c.all_events();
        r.streamed = gather(events);
        for (const auto& e : events)
          if (e != "[DONE]") r.ids.insert(json::parse(e)["id"].get<std::string>());
        const auto whole = json::parse(c.post("/v1/completions", body.dump()).body);
        r.whole_text = whole["choices"][0]["text"];
        r.whole_finish = whole["choices"][0]["finish_reason"];
      } catch (const std::exception& e) {
        ADD_FAILURE() << "stream " << i << ": " << e.what();
      }
    });
  for (auto& t : threads) t.join();
  std::set<std::string> all_ids;
  for (int i = 0; i < kStreams; ++i) {
    const Result& r = results[i];
    SCOPED_TRACE("stream " + std::to_string(i));
    ASSERT_EQ(r.status, 200);
    EXPECT_TRUE(r.streamed.done);
    ASSERT_EQ(r.ids.size(), 1u);
    EXPECT_TRUE(all_ids.insert(*r.ids.begin()).second) << "two streams share the id " << *r.ids.begin();
    EXPECT_EQ(r.streamed.text, r.whole_text);
    EXPECT_EQ(r.streamed.last["choices"][0]["finish_reason"], r.whole_finish);
  }
  // Recorded as each last byte leaves, which may be a moment after the client read it.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (metric("twotower_router_overhead_seconds_count") < 2 * kStreams && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(metric("twotower_router_overhead_seconds_count"), 2 * kStreams);
  EXPECT_GT(metric("twotower_router_overhead_seconds_sum"), 0);
}

}  // namespace
}  // namespace tt::test
