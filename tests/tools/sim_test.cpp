// The cluster model against closed forms: M/D/1 waiting time, saturation
// throughput of a batch-limited denoiser, transfer time over a link; plus
// determinism, the decoding rule of the commit draw, profiles and the planner.
#include <cmath>

#include <gtest/gtest.h>

#include "model/error.hpp"
#include "tools/sim/cluster_sim.hpp"
#include "tools/sim/planner.hpp"

using namespace tt::capacity;

namespace {

// Context forwards free; a denoiser step costs `step_s` whatever its batch; each
// block commits `per_step` tokens a step (block size 16, 16 steps).
Profile fixed_profile(double step_s, int per_step) {
  std::vector<double> hist(16, 0.0);
  hist[static_cast<size_t>(per_step - 1)] = 1;
  nlohmann::json j = {{"name", "fixed"},
                      {"context_forward", {{"tokens_seconds", {{1, 0.0}, {1e9, 0.0}}}}},
                      {"denoiser_forward", {{"tokens_seconds", {{1, step_s}, {1e9, step_s}}}}},
                      {"tokens_per_step", {{"0.8", hist}}}};
  return Profile::from_json(j, "test");
}

ClusterSpec no_links() {
  ClusterSpec s;
  s.link_latency_s = 0;
  return s;
}

double mean_e2e(const std::vector<RequestRecord>& rs) {
  double sum = 0;
  for (const auto& r : rs) sum += r.end_s - r.start_s;
  return sum / static_cast<double>(rs.size());
}

}  // namespace

TEST(ClusterSim, MD1WaitingTime) {
  const double D = 0.01;
  const Profile p = fixed_profile(D, 16);  // one step per block: service time D
  ClusterSpec s = no_links();
  s.max_denoiser_batch = 1;  // one block at a time: a single deterministic server
  for (double rho : {0.5, 0.8}) {
    ArrivalProcess ap;
    ap.rate = rho / D;
    SimLoad load;
    load.requests = synthesize(ap, LengthDist::parse("fixed:8", "-"), LengthDist::parse("fixed:16", "-"), 200000, 0, 7);
    const auto rs = simulate_cluster(s, p, load, 1);
    const double expected = D + rho * D / (2 * (1 - rho));  // Pollaczek-Khinchine, deterministic service
    EXPECT_NEAR(mean_e2e(rs), expected, expected * 0.04) << "rho " << rho;
  }
}

TEST(ClusterSim, SaturationThroughputOfABatchLimitedDenoiser) {
  const double D = 0.02;
  const Profile p = fixed_profile(D, 4);  // 4 steps per block
  for (int batch : {1, 8}) {
    ClusterSpec s = no_links();
    s.max_denoiser_batch = batch;
    SimLoad load;
    load.concurrency = 64;
    load.requests = synthesize_lengths(LengthDist::parse("fixed:8", "-"), LengthDist::parse("fixed:16", "-"), 4000, 3);
    const Summary sum = summarize(simulate_cluster(s, p, load, 1), Slo{});
    EXPECT_NEAR(sum.requests_per_s, batch / (4 * D), batch / (4 * D) * 0.01) << batch;
    EXPECT_DOUBLE_EQ(sum.tokens_per_forward, 4.0);
  }
  // Two context actors with two denoisers each: four times one denoiser's rate.
  ClusterSpec s = no_links();
  s.max_denoiser_batch = 1, s.contexts = 2, s.denoisers_per_context = 2;
  SimLoad load;
  load.concurrency = 64;
  load.requests = synthesize_lengths(LengthDist::parse("fixed:8", "-"), LengthDist::parse("fixed:16", "-"), 4000, 3);
  EXPECT_NEAR(summarize(simulate_cluster(s, p, load, 1), Slo{}).requests_per_s, 4 / (4 * D), 4 / (4 * D) * 0.01);
}

TEST(ClusterSim, LinkTransferAndStreamingTimes) {
  nlohmann::json j = {{"name", "link"},
                      {"context_forward", {{"tokens_seconds", {{1, 0.001}, {2, 0.001}}}}},
                      {"denoiser_forward", {{"tokens_seconds", {{1, 0.01}, {2, 0.01}}}}},
                      {"tokens_per_step", {{"0.8", {0, 0, 0, 0, 0, 0, 0, 1}}}},  // 8 a step: 2 steps a block
                      {"state_bytes", 1e8},
                      {"kv_bytes_per_token", 1e6}};
  const Profile p = Profile::from_json(j, "test");
  ClusterSpec s;
  s.link_latency_s = 0.001;
  s.link_bandwidth_Bps = 1e9;
  SimLoad load;
  RequestSpec r;
  r.input_len = 100, r.output_len = 40;  // 3 blocks
  load.requests = {r};
  const auto rs = simulate_cluster(s, p, load, 1);
  ASSERT_TRUE(rs[0].ok);
  // Block 1: router->ctx 1 ms, prefill 1 ms, send (0.1 s state + 0.1 s K/V of 100 tokens) + 1 ms,
  // 2 steps 20 ms, back 1 ms, to the client 1 ms.
  const double ttft = 0.001 + 0.001 + 0.001 + 0.2 + 0.02 + 0.001 + 0.001;
  EXPECT_NEAR(rs[0].first_token_s, ttft, 1e-9);
  // Each later block: extend 1 ms, send (state + 16 new tokens' K/V) + 1 ms, 20 ms, 1 ms back.
  const double block = 0.001 + 0.001 + 0.1 + 0.016 + 0.02 + 0.001;
  EXPECT_NEAR(rs[0].end_s, ttft + 2 * block, 1e-9);
  EXPECT_EQ(rs[0].output_tokens, 40);
  EXPECT_EQ(rs[0].itl_s.size(), 24u);  // 16 + 8 tokens after the first block
  EXPECT_EQ(rs[0].denoiser_forwards, 6);
}

TEST(ClusterSim, DeterministicForASeed) {
  nlohmann::json j = {{"name", "r"},
                      {"context_forward", {{"tokens_seconds", {{1, 0.001}, {4096, 0.05}}}}},
                      {"denoiser_forward", {{"tokens_seconds", {{16, 0.004}, {4096, 0.03}}}, {"per_sequence_s", 1e-4}}},
                      {"tokens_per_step", {{"0.8", {0.3, 0.3, 0.2, 0.1, 0.1}}}}};
  const Profile p = Profile::from_json(j, "test");
  ArrivalProcess ap;
  ap.rate = 40;
  SimLoad load;
  load.requests = synthesize(ap, LengthDist::parse("uniform:10:500", "-"), LengthDist::parse("uniform:1:100", "-"), 500, 0, 2);
  ClusterSpec s;
  s.denoisers_per_context = 2;
  const auto a = simulate_cluster(s, p, load, 5), b = simulate_cluster(s, p, load, 5), c = simulate_cluster(s, p, load, 6);
  ASSERT_EQ(a.size(), b.size());
  bool differs = false;
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].end_s, b[i].end_s);
    ASSERT_TRUE(a[i].ok);
    differs |= a[i].end_s != c[i].end_s;
  }
  EXPECT_TRUE(differs);
}

TEST(Profile, CommitRuleAndErrors) {
  CommitDist one;
  one.p = {1.0};
  Rng rng(1);
  EXPECT_EQ(draw_commit(one, 16, 0, 16, rng), 1);
  EXPECT_EQ(draw_commit(one, 16, 15, 16, rng), 16);  // the last step commits all
  EXPECT_EQ(draw_commit(one, 10, 12, 16, rng), 3);   // ceil(10 / 4)
  CommitDist big;
  big.p = std::vector<double>(16, 0.0);
  big.p[15] = 1;
  EXPECT_EQ(draw_commit(big, 5, 0, 16, rng), 5);  // never more than is masked
  EXPECT_THROW(Profile::from_json({{"name", "x"}}, "p.json"), tt::Error);
  const Profile p = fixed_profile(0.01, 2);
  EXPECT_DOUBLE_EQ(p.at_gamma(0.8).mean(), 2.0);
  try {
    p.at_gamma(0.9);
    FAIL();
  } catch (const tt::Error& e) {
    EXPECT_NE(std::string(e.what()).find("it has 0.8"), std::string::npos) << e.what();
  }
}

TEST(Planner, FewestGpusThenHighestGamma) {
  // Step cost 10 ms whatever the batch up to 4 blocks; gamma 0.5 commits 8 a step, 0.9 commits 4.
  nlohmann::json j = {{"name", "plan"},
                      {"context_forward", {{"tokens_seconds", {{1, 0.0}, {1e9, 0.0}}}}},
                      {"denoiser_forward", {{"tokens_seconds", {{1, 0.01}, {1e9, 0.01}}}}},
                      {"tokens_per_step", {{"0.5", {0, 0, 0, 0, 0, 0, 0, 1}}, {"0.9", {0, 0, 0, 1}}}}};
  const Profile p = Profile::from_json(j, "test");
  PlanRequest r;
  r.rate = 150;  // one denoiser at batch 4: 100 blocks/s at gamma 0.9, 200 at 0.5
  r.input = LengthDist::parse("fixed:8", "-");
  r.output = LengthDist::parse("fixed:16", "-");
  r.slo = Slo::parse("e2e=200ms");
  r.base.link_latency_s = 0;
  r.base.max_denoiser_batch = 4;
  r.max_denoisers_per_context = 2;
  r.requests = 3000;
  const PlanResult out = plan(r, p);
  ASSERT_TRUE(out.found);
  EXPECT_TRUE(out.best.feasible);
  // 2 GPUs (1 context + 1 denoiser) suffice only at gamma 0.5; 3 GPUs (1 + 2) at 0.9: fewest GPUs wins.
  EXPECT_EQ(out.best.gpus, 2);
  EXPECT_DOUBLE_EQ(out.best.spec.gamma, 0.5);
  bool saw_infeasible_09 = false;
  for (const auto& c : out.tried)
    if (c.spec.gamma == 0.9 && c.spec.denoisers_per_context == 1 && c.spec.contexts == 1) saw_infeasible_09 = !c.feasible;
  EXPECT_TRUE(saw_infeasible_09);
  // With a budget of 3 GPUs per context actor ruled in and gamma >= 0.9 demanded, 1 x 2 at 0.9.
  r.min_gamma = 0.9;
  const PlanResult hi = plan(r, p);
  ASSERT_TRUE(hi.found);
  EXPECT_EQ(hi.best.spec.contexts, 1);
  EXPECT_EQ(hi.best.spec.denoisers_per_context, 2);
  EXPECT_EQ(hi.best.gpus, 3);
}

TEST(Planner, AnOverloadedClusterIsNotFeasibleEvenWithLaxSlos) {
  const Profile p = fixed_profile(0.01, 16);
  ClusterSpec s = no_links();
  s.max_denoiser_batch = 1;
  for (double rho : {0.5, 1.5}) {
    ArrivalProcess ap;
    ap.rate = rho / 0.01;
    SimLoad load;
    load.requests = synthesize(ap, LengthDist::parse("fixed:8", "-"), LengthDist::parse("fixed:16", "-"), 4000, 0, 3);
    const double g = latency_growth(simulate_cluster(s, p, load, 1));
    if (rho < 1) EXPECT_LT(g, 1.25) << rho;
    else EXPECT_GT(g, 2.0) << rho;
  }
  nlohmann::json j = {{"name", "plan"},
                      {"context_forward", {{"tokens_seconds", {{1, 0.0}, {1e9, 0.0}}}}},
                      {"denoiser_forward", {{"tokens_seconds", {{1, 0.01}, {1e9, 0.01}}}}},
                      {"tokens_per_step", {{"0.5", {0, 0, 0, 0, 0, 0, 0, 1}}, {"0.9", {0, 0, 0, 1}}}}};
  PlanRequest r;
  r.rate = 150;
  r.input = LengthDist::parse("fixed:8", "-");
  r.output = LengthDist::parse("fixed:16", "-");
  r.slo = Slo::parse("e2e=1000s");  // met by everything in a finite run
  r.base.link_latency_s = 0;
  r.base.max_denoiser_batch = 4;
  r.max_denoisers_per_context = 1;
  r.min_gamma = 0.9;  // 1 x 1 at 0.9 serves 100 blocks/s < 150: a growing backlog
  r.requests = 3000;
  const PlanResult out = plan(r, Profile::from_json(j, "test"));
  ASSERT_TRUE(out.found);
  EXPECT_EQ(out.best.spec.contexts, 2);
  EXPECT_GT(out.tried.front().growth, 1.25);
}

TEST(Profile, ShippedProfilesLoadAndAreSane) {
  const std::string dir = std::string(TWOTOWER_TEST_SOURCE) + "/profiles/";
  const Profile h100 = Profile::load(dir + "nemotron-twotower-30b-h100.json");
  // One 16-token block on an H100: memory-bound, 6.4 GB of dense weights + ~69 experts per MoE layer.
  const double one_block = h100.denoiser.seconds(16, 1, 0);
  EXPECT_GT(one_block, 0.008);
  EXPECT_LT(one_block, 0.020);
  EXPECT_GT(h100.denoiser.seconds(16 * 64, 64, 0), one_block);  // all experts touched
  EXPECT_NEAR(h100.at_gamma(0.8).mean(), 3.0, 0.01);
  EXPECT_NEAR(h100.state_bytes, 49364992, 1);
  EXPECT_EQ(h100.kv_bytes_per_token, 6144);
  const Profile cpu = Profile::load(dir + "default-model-cpu.json");
  EXPECT_GT(cpu.denoiser.seconds(16, 1, 0), 0);
  EXPECT_GE(cpu.at_gamma(0.8).mean(), 1.0);
}
