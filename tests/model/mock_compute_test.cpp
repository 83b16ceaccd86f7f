// Mock compute: the engine's cores take the profile's time and commit the
// drawn number of tokens per step, with no tower math.
#include <algorithm>
#include <chrono>

#include <gtest/gtest.h>

#include "model/engine.hpp"
#include "model/mock_compute.hpp"
#include "model/model.hpp"

namespace tt {
namespace {

std::shared_ptr<MockCompute> mock(double context_s, double denoiser_s, int per_step) {
  std::vector<double> hist(16, 0.0);
  hist[static_cast<size_t>(per_step - 1)] = 1;
  nlohmann::json j = {{"name", "mock-test"},
                      {"context_forward", {{"tokens_seconds", {{1, context_s}, {1e6, context_s}}}}},
                      {"denoiser_forward", {{"tokens_seconds", {{1, denoiser_s}, {1e6, denoiser_s}}}}},
                      {"tokens_per_step", {{"0.8", hist}}}};
  return std::make_shared<MockCompute>(capacity::Profile::from_json(j, "test"));
}

class MockComputeTest : public ::testing::Test {
protected:
  void SetUp() override { model_ = Model::load(std::string(TT_TEST_DATA) + "/tiny-random"); }
  void TearDown() override { MockCompute::install(nullptr); }
  std::unique_ptr<Model> model_;
};

GenerateRequest request(int max_tokens) {
  GenerateRequest r;
  r.prompt = {1, 5, 6, 7, 8};
  r.max_tokens = max_tokens;
  r.diffusion.gamma = 0.8f;
  r.trace = true;
  return r;
}

TEST_F(MockComputeTest, TakesTheProfilesTimeAndCommitsTheDrawnCount) {
  MockCompute::install(mock(0.010, 0.020, 4));
  Engine engine(*model_);
  const auto t0 = std::chrono::steady_clock::now();
  const GenerateResult r = engine.generate(request(32));
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(r.tokens.size(), 32u);
  for (int32_t t : r.tokens) {
    EXPECT_NE(t, model_->config.eos_token_id);
    EXPECT_NE(t, model_->config.mask_token_id);
  }
  EXPECT_EQ(r.denoiser_forwards, 8);  // 2 blocks x 16 / 4 per step
  ASSERT_EQ(r.trace.size(), 2u);
  ASSERT_EQ(r.trace[0].size(), 4u);
  EXPECT_EQ(std::count(r.trace[0][0].begin(), r.trace[0][0].end(), model_->config.mask_token_id), 12);
  // prefill 10 ms + 4 steps x 20 ms + extension 10 ms + 4 x 20 ms
  // (Upper bounds leave room for a loaded machine's late wake-ups: 10 sleeps per run.)
  EXPECT_GE(s, 0.180);
  EXPECT_LE(s, 0.180 + 0.3);
  // Four sequences batch: the same number of forwards, about the same time (one after the
  // other they would take at least 4 x 0.180 = 0.72 s).
  const auto t1 = std::chrono::steady_clock::now();
  const auto many = engine.generate(std::vector<GenerateRequest>(4, request(32)));
  const double s4 = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  for (const auto& m : many) EXPECT_EQ(m.tokens, r.tokens);
  // The mock repays its sleeps' overshoot later (hold_for's debt, per thread): what the
  // first run overslept, at most s - 0.180, may come off this one.
  EXPECT_GE(s4, 0.180 - std::max(0.0, s - 0.180));
  EXPECT_LE(s4, 0.54);
}

TEST_F(MockComputeTest, WithoutInstallTheRealTowersRun) {
  MockCompute::install(mock(0.5, 0.5, 16));
  MockCompute::install(nullptr);
  Engine engine(*model_);
  const auto t0 = std::chrono::steady_clock::now();
  const GenerateResult r = engine.generate(request(16));
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 0.5);
  EXPECT_EQ(r.tokens.size(), 16u);
}

}  // namespace
}  // namespace tt
