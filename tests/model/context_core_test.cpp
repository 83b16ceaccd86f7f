// ContextCore / DenoiserCore driven the way actors will drive them: jobs
// delayed, reordered and spread over several denoisers; sequences cancelled.
#include "model/context_core.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>

#include "model/denoiser_core.hpp"
#include "model/engine.hpp"
#include "model/error.hpp"

namespace tt {
namespace {

const std::string kDir = std::string(TT_TEST_DATA) + "/tiny-random";

const Model& model() {
  static std::unique_ptr<Model> m = Model::load(kDir);
  return *m;
}

std::vector<GenerateRequest> requests() {
  std::vector<GenerateRequest> out;
  const std::vector<std::vector<int32_t>> prompts = {{1, 905, 274, 284}, {1, 43, 76}, {1, 300}, {7}};
  for (Mode mode : {Mode::diffusion, Mode::mock_ar, Mode::ar}) {
    for (const auto& p : prompts) {
      GenerateRequest r;
      r.prompt = p;
      r.mode = mode;
      r.max_tokens = 20;
      r.diffusion.block_size = 8;
      r.diffusion.steps = 8;
      r.diffusion.gamma = 0.5f;
      r.diffusion.temperature = mode == Mode::ar ? 0.7f : 0.0f;
      r.diffusion.seed = 3;
      out.push_back(r);
    }
  }
  return out;
}

// Three denoisers; each round one of them (round robin) steps, and results are
// delivered in reverse order.
TEST(ContextCore, OutputIndependentOfDenoiserSchedule) {
  auto reqs = requests();
  Engine engine(model());
  auto expected = engine.generate(reqs);

  ContextCore ctx(model());
  std::vector<std::unique_ptr<DenoiserCore>> dens;
  for (int i = 0; i < 3; ++i) dens.push_back(std::make_unique<DenoiserCore>(model()));
  std::vector<uint64_t> ids;
  for (const auto& r : reqs) ids.push_back(ctx.submit(r));
  size_t unfinished = ids.size(), next = 0, turn = 0;
  auto absorb = [&](const ContextEvents& ev) {
    unfinished -= ev.finished.size();
    for (const auto& job : ev.jobs) dens[next++ % dens.size()]->add(job);
  };
  for (int guard = 0; unfinished > 0; ++guard) {
    ASSERT_LT(guard, 10000);
    if (ctx.has_work()) absorb(ctx.step());
    auto results = dens[turn++ % dens.size()]->step();
    std::reverse(results.begin(), results.end());
    for (const auto& r : results) absorb(ctx.on_result(r));
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(ctx.result(ids[i]).tokens, expected[i].tokens) << "request " << i;
    EXPECT_EQ(ctx.result(ids[i]).finish, expected[i].finish) << "request " << i;
  }
}

TEST(ContextCore, CancelFreesTheSequenceAndDropsLateResults) {
  ContextCore ctx(model());
  DenoiserCore den(model());
  GenerateRequest r;
  r.prompt = {1, 905, 274};
  r.max_tokens = 64;
  const uint64_t a = ctx.submit(r);
  const uint64_t b = ctx.submit(r);
  EXPECT_EQ(ctx.live_sequences(), 2u);
  auto ev = ctx.step();
  ASSERT_EQ(ev.jobs.size(), 2u);
  for (auto& j : ev.jobs) den.add(j);
  ctx.cancel(a);
  EXPECT_EQ(ctx.live_sequences(), 1u);
  std::vector<JobResult> done;
  while (done.size() < 2) {
    auto rs = den.step();
    done.insert(done.end(), rs.begin(), rs.end());
  }
  for (const auto& res : done) {
    auto e = ctx.on_result(res);
    if (res.sequence_id == a) {
      EXPECT_TRUE(e.token_updates.empty());
    } else {
      EXPECT_EQ(e.token_updates, std::vector<uint64_t>{b});
    }
  }
  EXPECT_EQ(ctx.result(b).tokens.size(), 16u);
  EXPECT_THROW(ctx.result(a), Error);
}

TEST(ContextCore, RejectsBadRequestsWithoutAdmittingThem) {
  ContextCore ctx(model());
  GenerateRequest r;
  r.prompt = {};
  EXPECT_THROW(ctx.submit(r), Error);
  r.prompt = {1};
  r.diffusion.gamma = 0.0f;
  EXPECT_THROW(ctx.submit(r), Error);
  EXPECT_EQ(ctx.live_sequences(), 0u);
  EXPECT_FALSE(ctx.has_work());
}

}  // namespace
}  // namespace tt
