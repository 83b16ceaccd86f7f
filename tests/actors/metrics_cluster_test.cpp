// The metrics of a real context actor and denoiser (processes started with
// --metrics): promtool accepts a live scrape, and the figures add up to what
// the generation itself reports. Malformed HTTP does not hurt the process.
#include <gtest/gtest.h>

#include <random>

#include "../support/process.hpp"
#include "metrics_fixture.hpp"

namespace {

using namespace tt::test;
using namespace std::chrono_literals;

TEST_F(MetricsClusterTest, ALiveScrapePassesPromtoolAndCountsTheGeneration) {
  ASSERT_NO_FATAL_FAILURE(start_with_metrics());
  // Before any request: every series exists at 0, the denoiser is counted as up.
  const std::string idle = scrape(context_metrics_);
  EXPECT_EQ(sample(idle, "twotower_context_generation_tokens_total"), 0.0);
  EXPECT_EQ(sample(idle, "twotower_cluster_peer_events_total{role=\"denoiser\",event=\"up\"}"), 1.0);
  EXPECT_GT(sample(idle, "twotower_context_cache_capacity_bytes").value_or(0), 1e6);

  const auto out = generate({"--prompt", "The quick brown fox", "--max-tokens", "40", "--seed", "3"}, address_);
  ASSERT_FALSE(out.is_null());
  const double generated = out["generated_tokens"], prompt = out["prompt_tokens"];
  const double forwards = out["denoiser_forwards"], committed = out["committed_tokens"];
  const double blocks = committed / 16;  // default block size
  ASSERT_GT(generated, 0);

  const std::string ctx = scrape(context_metrics_);
  const std::string den = scrape(denoiser_metrics_);
  if (have_program("promtool")) {
    for (const auto& [name, text] : {std::pair{"context", ctx}, {"denoiser", den}}) {
      const auto [status, lint] = promtool_check(text, name);
      EXPECT_EQ(status, 0) << name << ": " << lint;
      EXPECT_EQ(lint, "") << name;
    }
  } else {
    ADD_FAILURE() << "promtool not installed (scripts/setup.sh installs it)";
  }

  // The context actor: the request, its tokens and latencies.
  EXPECT_EQ(sample(ctx, "twotower_context_generation_tokens_total"), generated);
  EXPECT_EQ(sample(ctx, "twotower_context_prompt_tokens_total"), prompt);
  EXPECT_EQ(sample(ctx, "twotower_context_requests_total{outcome=\"ok\"}"), 1.0);
  EXPECT_EQ(sample(ctx, "twotower_context_requests_total{outcome=\"error\"}"), 0.0);
  EXPECT_EQ(sample(ctx, "twotower_context_time_to_first_token_seconds_count"), 1.0);
  EXPECT_EQ(sample(ctx, "twotower_context_request_duration_seconds_count"), 1.0);
  EXPECT_EQ(sample(ctx, "twotower_context_queue_time_seconds_count"), 1.0);
  EXPECT_LE(sample(ctx, "twotower_context_time_to_first_token_seconds_sum").value_or(1e9),
            sample(ctx, "twotower_context_request_duration_seconds_sum").value_or(0));
  EXPECT_EQ(sample(ctx, "twotower_context_requests_running"), 0.0);
  EXPECT_EQ(sample(ctx, "twotower_context_requests_waiting"), 0.0);
  EXPECT_EQ(sample(ctx, "twotower_context_block_latency_seconds_count"), blocks);
  EXPECT_EQ(sample(ctx, "twotower_engine_forward_batch_size_count{tower=\"context\"}"),
            static_cast<double>(out["context_forwards"]));
  EXPECT_EQ(sample(ctx, "twotower_context_cache_used_bytes"), 0.0) << "the finished sequence's cache is freed";

  // The denoiser: one observation per block per forward, one per block.
  EXPECT_EQ(sample(den, "twotower_denoiser_committed_tokens_per_forward_count"), forwards);
  EXPECT_EQ(sample(den, "twotower_denoiser_committed_tokens_per_forward_sum"), committed);
  EXPECT_EQ(sample(den, "twotower_denoiser_steps_per_block_count"), blocks);
  EXPECT_EQ(sample(den, "twotower_denoiser_steps_per_block_sum"), forwards);
  EXPECT_EQ(sample(den, "twotower_engine_forward_batch_size_count{tower=\"denoiser\"}"), forwards);
  // One host: the cache handles go through shared memory (auto transport), zero bytes moved.
  EXPECT_EQ(sample(den, "twotower_cache_handle_transfer_bytes_total{transport=\"shared_memory\"}"), 0.0);
  EXPECT_EQ(sample(den, "twotower_cache_handle_transfer_seconds_count{transport=\"shared_memory\"}"), blocks);
  EXPECT_EQ(sample(den, "twotower_cache_handle_transfer_bytes_total{transport=\"network\"}").value_or(0), 0.0);
  EXPECT_EQ(sample(den, "twotower_cluster_peer_events_total{role=\"context\",event=\"up\"}"), 1.0);

  // Each role exports only what it records (no always-zero duplicates in cluster sums).
  EXPECT_EQ(sample(den, "twotower_context_generation_tokens_total"), std::nullopt);
  EXPECT_EQ(sample(ctx, "twotower_denoiser_steps_per_block_count"), std::nullopt);
  EXPECT_EQ(ctx.find("twotower_router_"), std::string::npos);
  EXPECT_EQ(den.find("twotower_router_"), std::string::npos);

  // A denoiser that dies is counted as down by its context actor.
  denoisers_[0].kill_now();
  const auto until = std::chrono::steady_clock::now() + 20s;
  std::optional<double> downs;
  while (std::chrono::steady_clock::now() < until) {
    downs = sample(scrape(context_metrics_), "twotower_cluster_peer_events_total{role=\"denoiser\",event=\"down\"}");
    if (downs == 1.0) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(downs, 1.0);
}

TEST_F(MetricsClusterTest, MalformedHttpDoesNotHurtTheProcess) {
  ASSERT_NO_FATAL_FAILURE(start_with_metrics());
  std::mt19937 rng(7);
  for (int i = 0; i < 30; ++i) {
    Connection c(context_metrics_);
    std::string junk(1 + rng() % 2000, '\0');
    for (char& ch : junk) ch = static_cast<char>(rng());
    if (i % 3 == 0) junk = "GET /metrics HTTP/1.1\r\nContent-Length: x" + junk;  // a good start, then garbage
    c.send(junk);
    if (i % 2 == 0) c.read_all(2s);  // half of them wait for the answer, half hang up at once
  }
  {
    Connection c(context_metrics_);
    c.send("GET /metrics HTTP/1.1\r\nX: " + std::string(1 << 20, 'x'));  // a megabyte of header
    EXPECT_EQ(parse_response(c.read_all(10s)).status, 431);
  }
  EXPECT_EQ(http_get(context_metrics_, "/metrics").status, 200);
  const auto out = generate({"--prompt", "Hello", "--max-tokens", "16"}, address_);
  ASSERT_FALSE(out.is_null());
  EXPECT_EQ(sample(scrape(context_metrics_), "twotower_context_requests_total{outcome=\"ok\"}"), 1.0);
}

TEST_F(MetricsClusterTest, ABadMetricsAddressIsOneClearError) {
  const auto r = run_binary("context --listen 127.0.0.1:0 --model " + model_dir() + " --metrics nonsense 2>&1");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("--metrics"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("listening on"), std::string::npos) << r.out;
  EXPECT_EQ(r.out, "twotower context: error: --metrics: 'nonsense' is not HOST:PORT\n");
  // A well-formed address that cannot be served: one line too.
  const auto used = run_binary("denoiser --context 127.0.0.1:1 --model " + model_dir() +
                               " --metrics 192.0.2.1:9 2>&1");  // TEST-NET-1: not an address of this host
  EXPECT_EQ(used.status, 2);
  EXPECT_EQ(used.out.rfind("twotower denoiser: error: --metrics 192.0.2.1:9: cannot serve metrics on 192.0.2.1:9: ", 0),
            0u)
      << used.out;
  EXPECT_EQ(count_of(used.out, "\n"), 1u) << used.out;
}

}  // namespace
