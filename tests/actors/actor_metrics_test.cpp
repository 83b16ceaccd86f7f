// The role recorders (actors/actor_metrics.hpp) driven the way the actors
// drive them, over the real cores of the tiny random model: the figures add up,
// nothing is left behind, and what they cost per forward (printed as JSON).
#include "actors/actor_metrics.hpp"

#include <gtest/gtest.h>

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include "model/denoiser_core.hpp"
#include "monitoring/names.hpp"
#include "monitoring/registry.hpp"

namespace tt::actors {
namespace {

const Model& model() {
  static std::unique_ptr<Model> m = Model::load(std::string(TT_TEST_DATA) + "/tiny-random");
  return *m;
}

GenerateRequest request(std::vector<int32_t> prompt, int max_tokens) {
  GenerateRequest r;
  r.prompt = std::move(prompt);
  r.max_tokens = max_tokens;
  r.diffusion.block_size = 8;
  r.diffusion.steps = 8;
  return r;
}

double value(const mon::Registry& r, std::string_view family, std::string_view label = {}) {
  for (const auto& f : r.snapshot()) {
    if (f.name != family) continue;
    for (const auto& c : f.children)
      if (label.empty() || (!c.label_values.empty() && c.label_values[0] == label))
        return f.type == mon::MetricType::histogram ? static_cast<double>(c.histogram.cumulative.back()) : c.value;
  }
  return -1;
}

// A context core and one denoiser core, wired the way the actors wire them.
struct Driver {
  mon::Registry registry;
  mon::Metrics metrics{registry};
  ContextCore ctx{model()};
  DenoiserCore den{model()};
  ContextMetrics cm{&metrics};
  DenoiserMetrics dm{&metrics};
  size_t streamed_tokens = 0, committed_tokens = 0;
  std::map<uint64_t, size_t> sent;  // tokens streamed per sequence

  void handle(const ContextEvents& ev) {
    cm.events(ev, ctx);
    for (const BlockJob& j : ev.jobs) {
      cm.block_sent(j.job_id, j.sequence_id);
      den.add(j);
    }
    for (uint64_t id : ev.token_updates) {
      const bool final = std::count(ev.finished.begin(), ev.finished.end(), id) != 0;
      const size_t n = ctx.result(id).tokens.size();
      cm.streamed(id, n - sent[id], final);
      streamed_tokens += n - sent[id];
      sent[id] = n;
    }
    for (uint64_t id : ev.finished) {
      ctx.release(id);
      cm.forgotten(id, ctx);
    }
  }
  void run() {
    while (ctx.has_work() || den.active() > 0) {
      if (ctx.has_work()) handle(ctx.step());
      auto done = den.step();
      dm.stepped(den, done);
      for (const JobResult& r : done) {
        committed_tokens += r.tokens.size();
        cm.block_committed(r.job_id);
        handle(ctx.on_result(r));
      }
    }
  }
};

TEST(ActorMetrics, RecordersAddUpOverTheRealCores) {
  Driver d;
  for (auto [prompt, max] : {std::pair{std::vector<int32_t>{1, 905, 274}, 20}, {{1, 43}, 13}}) {
    const uint64_t id = d.ctx.submit(request(prompt, max));
    d.cm.admitted(id, prompt.size());
  }
  EXPECT_EQ(value(d.registry, mon::names::requests_waiting.name), 2.0);
  EXPECT_EQ(value(d.registry, mon::names::requests_running.name), 0.0);
  d.handle(d.ctx.step());
  EXPECT_EQ(value(d.registry, mon::names::requests_waiting.name), 0.0);
  EXPECT_EQ(value(d.registry, mon::names::requests_running.name), 2.0);
  EXPECT_GT(value(d.registry, mon::names::cache_used.name), 0.0);
  d.run();

  const auto& r = d.registry;
  EXPECT_EQ(value(r, mon::names::context_prompt_tokens.name), 5.0);
  ASSERT_GT(d.streamed_tokens, 0u);
  EXPECT_LE(d.streamed_tokens, 33u);  // 20 + 13, fewer if EOS came first
  EXPECT_EQ(value(r, mon::names::context_generation_tokens.name), static_cast<double>(d.streamed_tokens));
  EXPECT_EQ(value(r, mon::names::context_requests.name, "ok"), 2.0);
  EXPECT_EQ(value(r, mon::names::context_time_to_first_token.name), 2.0);
  EXPECT_EQ(value(r, mon::names::queue_time.name), 2.0);
  EXPECT_EQ(value(r, mon::names::requests_running.name), 0.0);
  EXPECT_EQ(value(r, mon::names::cache_used.name), 0.0);
  // Whole blocks of 8 come back from the denoiser.
  ASSERT_EQ(d.committed_tokens % 8, 0u);
  const double blocks = static_cast<double>(d.committed_tokens / 8);
  EXPECT_EQ(value(r, mon::names::block_latency.name), blocks);
  EXPECT_EQ(value(r, mon::names::steps_per_block.name), blocks);
  EXPECT_EQ(d.metrics.tokens_per_forward.snapshot().sum, static_cast<double>(d.committed_tokens))
      << "every committed token is counted once";
  EXPECT_EQ(d.cm.tracked_sequences(), 0u);
  EXPECT_EQ(d.cm.tracked_blocks(), 0u);
}

TEST(ActorMetrics, AnAbortedRequestCountsItsOutcomeAndLeavesNothingBehind) {
  Driver d;
  const uint64_t id = d.ctx.submit(request({1, 2, 3}, 40));
  d.cm.admitted(id, 3);
  const ContextEvents ev = d.ctx.step();
  d.handle(ev);
  ASSERT_EQ(ev.jobs.size(), 1u);
  msg::request_error deadline{1, msg::error_code::deadline, "late"};
  d.cm.aborted(id, outcome_of(deadline));
  d.cm.aborted(id, outcome_of(std::nullopt));  // counted once
  d.ctx.cancel(id);
  d.cm.forgotten(id, d.ctx);
  EXPECT_EQ(value(d.registry, mon::names::context_requests.name, "deadline"), 1.0);
  EXPECT_EQ(value(d.registry, mon::names::context_requests.name, "cancelled"), 0.0);
  EXPECT_EQ(value(d.registry, mon::names::requests_running.name), 0.0);
  EXPECT_EQ(d.cm.tracked_sequences(), 0u);
  EXPECT_EQ(d.cm.tracked_blocks(), 0u) << "the block still out is forgotten with its sequence";
}

TEST(ActorMetrics, LabelsAndNoOps) {
  EXPECT_EQ(outcome_of(std::nullopt), "cancelled");
  EXPECT_EQ(outcome_of(msg::request_error{0, msg::error_code::peer_down, ""}), "error");
  EXPECT_EQ(transport_label(msg::cache_transport::inline_bytes), "network");
  EXPECT_EQ(transport_label(msg::cache_transport::in_process), "in_process");
  EXPECT_TRUE(context_exports("twotower_context_requests_total"));
  EXPECT_FALSE(context_exports("twotower_denoiser_steps_per_block"));
  EXPECT_TRUE(denoiser_exports("twotower_cache_handle_transfer_seconds"));
  EXPECT_FALSE(denoiser_exports("twotower_router_requests_total"));
  ContextMetrics off(nullptr);  // nothing installed: every call does nothing
  off.admitted(1, 3);
  off.streamed(1, 3, true);
  off.peer("denoiser", "up");
  EXPECT_EQ(off.tracked_sequences(), 0u);
  EXPECT_GT(cache_capacity_bytes(), 0u);
}

double cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return 1e9 * static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec);
}

// Figures, not a benchmark harness: the recorders' cost per denoiser forward
// against the forward itself (the smallest model, so the worst ratio).
TEST(ActorMetrics, HotPathCostPerForward) {
  mon::Registry registry;
  mon::Metrics metrics(registry);
  ContextCore ctx(model());
  DenoiserCore den(model());
  constexpr int kBatch = 8;
  for (int i = 0; i < kBatch; ++i) ctx.submit(request({1, 2, 3, static_cast<int32_t>(i + 4)}, 64));
  const ContextEvents ev = ctx.step();
  ASSERT_EQ(ev.jobs.size(), static_cast<size_t>(kBatch));
  for (const BlockJob& j : ev.jobs) den.add(j);
  const double f0 = cpu_ns();
  const std::vector<JobResult> done = den.step();  // the first forward of 8 blocks
  const double forward_ns = cpu_ns() - f0;

  DenoiserMetrics dm(&metrics);
  ContextMetrics cm(&metrics);
  constexpr int kReps = 20000;
  const double d0 = cpu_ns();
  for (int i = 0; i < kReps; ++i) dm.stepped(den, done);
  const double denoiser_ns = (cpu_ns() - d0) / kReps;
  // The context side per block: sent, committed, streamed, plus events() per forward.
  const double c0 = cpu_ns();
  for (int i = 0; i < kReps; ++i) {
    cm.block_sent(static_cast<uint64_t>(i), 1);
    cm.block_committed(static_cast<uint64_t>(i));
    cm.streamed(1, 8, false);
  }
  const double block_ns = (cpu_ns() - c0) / kReps;
  const double e0 = cpu_ns();
  for (int i = 0; i < kReps; ++i) cm.events(ev, ctx);
  const double events_ns = (cpu_ns() - e0) / kReps;
  const double ratio = (denoiser_ns + events_ns + kBatch * block_ns) / forward_ns;
  std::printf(
      "{\"bench\": \"actor_metrics\", \"model\": \"tiny-random\", \"batch\": %d, \"denoiser_forward_ns\": %.0f, "
      "\"denoiser_stepped_ns\": %.1f, \"context_events_ns\": %.1f, \"context_per_block_ns\": %.1f, "
      "\"metrics_over_forward\": %.5f}\n",
      kBatch, forward_ns, denoiser_ns, events_ns, block_ns, ratio);
  EXPECT_LT(ratio, 0.05) << "recording must stay negligible next to a forward";
}

}  // namespace
}  // namespace tt::actors
