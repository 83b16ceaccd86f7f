// Context and denoiser actors in one process (in-process cache transport):
// the engine's tokens and counters, leases released, handshake refusals,
// cancel, and denoisers that answer with errors or malformed blocks.
#include "actors/context_actor.hpp"

#include <gtest/gtest.h>

#include <caf/all.hpp>

#include "actors/cache_transport.hpp"
#include "actors/cluster_config.hpp"
#include "actors/denoiser_actor.hpp"
#include "messages/engine_bridge.hpp"
#include "model/engine.hpp"

namespace tt::actors {
namespace {

using namespace std::chrono_literals;

// One actor system with a context actor on the tiny random model, and a
// scoped actor as its client; everything spawned is told to exit at the end.
class ContextActorTest : public ::testing::Test {
protected:
  void SetUp() override {
    model_ = Model::load(std::string(TT_TEST_DATA) + "/tiny-random");
    sys_ = std::make_unique<caf::actor_system>(cfg_);
    self_ = std::make_unique<caf::scoped_actor>(*sys_);
    context_ = spawn_context(*sys_, *model_);
    ctx_ = caf::actor_cast<msg::context_actor>(context_);
  }
  void TearDown() override {
    for (auto& a : spawned_) (*self_)->send_exit(a, caf::exit_reason::user_shutdown);
    (*self_)->send_exit(context_, caf::exit_reason::user_shutdown);
    self_.reset();
    sys_.reset();
  }
  caf::scoped_actor& self() { return *self_; }
  msg::client_actor me() { return caf::actor_cast<msg::client_actor>(self()); }
  void add_denoiser() {
    spawned_.push_back(caf::actor_cast<caf::actor>(spawn_registered_denoiser(*sys_, *model_, ctx_, 5s, [](std::string) {})));
  }
  // Registers a test double of a denoiser (hello first, as a real one does).
  void register_fake(const msg::denoiser_actor& d) {
    self()->request(ctx_, 5s, msg::make_hello("denoiser", "test", 1)).receive([](const msg::hello_ack&) {},
                                                                             [](caf::error&) {});
    self()->request(ctx_, 5s, msg::register_denoiser{"test", 1, 0}, d)
      .receive([](const msg::hello_ack& ack) { EXPECT_TRUE(ack.accepted) << ack.reason; },
               [&](caf::error& e) { FAIL() << sys_->render(e); });
    spawned_.push_back(caf::actor_cast<caf::actor>(d));
  }
  // Receives until `n` requests ended (final chunk or request_error).
  struct Outcome {
    std::vector<int32_t> tokens;
    msg::token_chunk last;
    std::optional<msg::request_error> error;
  };
  std::vector<Outcome> collect(size_t n, std::chrono::seconds limit = 60s) {
    std::vector<Outcome> out(n);
    size_t ended = 0;
    while (ended < n) {
      bool timed_out = false;
      self()->receive(
        [&](const msg::token_chunk& c) {
          ASSERT_LT(c.request_id, n);
          auto t = msg::unpack_int32(c.tokens, "tokens");
          auto& o = out[c.request_id];
          o.tokens.insert(o.tokens.end(), t.value.begin(), t.value.end());
          EXPECT_EQ(c.committed_total, o.tokens.size());
          o.last = c;
          ended += c.final;
        },
        [&](const msg::request_error& e) {
          ASSERT_LT(e.request_id, n);
          out[e.request_id].error = e;
          ++ended;
        },
        caf::after(limit) >> [&] { timed_out = true; });
      if (timed_out) {
        ADD_FAILURE() << "no answer within the limit";
        break;
      }
    }
    return out;
  }
  msg::load_report load() {
    msg::load_report r;
    self()->request(ctx_, 5s, msg::load_atom::value).receive([&](const msg::load_report& l) { r = l; },
                                                             [&](caf::error& e) { FAIL() << sys_->render(e); });
    return r;
  }

  std::unique_ptr<Model> model_;
  ClusterConfig cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  std::unique_ptr<caf::scoped_actor> self_;
  context_impl context_;
  msg::context_actor ctx_;
  std::vector<caf::actor> spawned_;
};

GenerateRequest diffusion_request(std::vector<int32_t> prompt, int max_tokens) {
  GenerateRequest r;
  r.prompt = std::move(prompt);
  r.max_tokens = max_tokens;
  return r;
}

TEST_F(ContextActorTest, InProcessDenoisersMatchTheEngine) {
  std::vector<GenerateRequest> reqs(4);
  reqs[0] = diffusion_request({5, 6, 7, 8, 9}, 40);
  reqs[1] = diffusion_request({11, 3}, 21);
  reqs[1].diffusion.gamma = 0.5f;
  reqs[1].diffusion.block_size = 8;
  reqs[2] = diffusion_request({42}, 10);
  reqs[2].mode = Mode::mock_ar;
  reqs[3] = diffusion_request({42, 43}, 10);
  reqs[3].mode = Mode::ar;
  std::vector<GenerateResult> expected;
  {
    Engine engine(*model_);
    for (const auto& r : reqs) expected.push_back(engine.generate(r));
  }
  add_denoiser();
  add_denoiser();
  for (size_t i = 0; i < reqs.size(); ++i) self()->send(ctx_, msg::to_wire_request(reqs[i], i, 0), me());
  const auto got = collect(reqs.size());
  for (size_t i = 0; i < reqs.size(); ++i) {
    SCOPED_TRACE("request " + std::to_string(i));
    ASSERT_FALSE(got[i].error) << got[i].error->message;
    EXPECT_EQ(got[i].tokens, expected[i].tokens);
    EXPECT_EQ(got[i].last.finish, msg::to_wire(expected[i].finish));
    EXPECT_EQ(got[i].last.denoiser_forwards, expected[i].denoiser_forwards);
    EXPECT_EQ(got[i].last.context_forwards, expected[i].context_forwards);
    EXPECT_EQ(got[i].last.committed_tokens, static_cast<uint32_t>(expected[i].committed_tokens));
  }
  EXPECT_EQ(in_process::size(), 0u);  // every pointer lease ended with its block
  EXPECT_EQ(load().active_blocks, 0u);
}

TEST_F(ContextActorTest, RefusesAnotherProtocolVersionAndUngreetedDenoisers) {
  auto hello = msg::make_hello("denoiser", "test", 1);
  hello.protocol_version = msg::protocol_version + 1;
  self()->request(ctx_, 5s, hello)
    .receive([&](const msg::hello_ack& ack) {
               EXPECT_FALSE(ack.accepted);
               EXPECT_NE(ack.reason.find("protocol version mismatch"), std::string::npos) << ack.reason;
             },
             [&](caf::error& e) { FAIL() << sys_->render(e); });
  auto d = spawn_denoiser(*sys_, *model_);
  spawned_.push_back(caf::actor_cast<caf::actor>(d));
  self()->request(ctx_, 5s, msg::register_denoiser{"test", 1, 0}, caf::actor_cast<msg::denoiser_actor>(d))
    .receive([&](const msg::hello_ack& ack) {
               EXPECT_FALSE(ack.accepted);
               EXPECT_NE(ack.reason.find("hello"), std::string::npos) << ack.reason;
             },
             [&](caf::error& e) { FAIL() << sys_->render(e); });
}

TEST_F(ContextActorTest, BadRequestIsAnErrorValue) {
  GenerateRequest r;
  r.prompt = {model_->config.vocab_size + 5};
  self()->send(ctx_, msg::to_wire_request(r, 7, 0), me());
  self()->receive([&](const msg::request_error& e) {
                    EXPECT_EQ(e.request_id, 7u);
                    EXPECT_EQ(e.code, msg::error_code::bad_request);
                  },
                  caf::after(10s) >> [] { FAIL() << "no answer"; });
}

TEST_F(ContextActorTest, CancelEndsWithACancelledChunkAndLeavesNothingPending) {
  // No denoiser: the first block waits in the queue until the cancel.
  self()->send(ctx_, msg::to_wire_request(diffusion_request({5, 6, 7}, 500), 0, 0), me());
  while (load().queued_blocks == 0) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(load().active_blocks, 1u);
  self()->send(ctx_, msg::cancel_request{0}, me());
  const auto got = collect(1);
  ASSERT_FALSE(got[0].error);
  EXPECT_TRUE(got[0].last.final);
  EXPECT_EQ(got[0].last.finish, msg::finish_reason::cancelled);
  EXPECT_EQ(load().active_blocks, 0u);
  EXPECT_EQ(load().queued_blocks, 0u);
  // A denoiser arriving now gets no stale job.
  add_denoiser();
  self()->send(ctx_, msg::to_wire_request(diffusion_request({5, 6, 7}, 16), 0, 0), me());
  const auto after = collect(1);
  ASSERT_FALSE(after[0].error);
  EXPECT_EQ(after[0].tokens.size(), 16u);
}

// A denoiser test double: answers every block with `reply`'s verdict.
using Reply = std::function<caf::result<msg::block_committed>(const msg::denoise_block&)>;
msg::denoiser_actor spawn_faulty(caf::actor_system& sys, Reply reply) {
  return sys.spawn([reply](msg::denoiser_actor::pointer) -> msg::denoiser_actor::behavior_type {
    return {
      [](const msg::hello& h) { return msg::answer_hello(h); },
      [reply](const msg::denoise_block& m) { return reply(m); },
      [](msg::load_atom) { return msg::load_report{}; },
      [](const msg::release_handle&) {},
      [](const msg::nccl_join&) { return msg::hello_ack{false, "no NCCL here"}; },
    };
  });
}

TEST_F(ContextActorTest, DenoiserThatAlwaysFailsGivesTheClientAClearError) {
  register_fake(spawn_faulty(*sys_, [](const msg::denoise_block&) -> caf::result<msg::block_committed> {
    return caf::make_error(caf::sec::runtime_error, "out of GPU memory");
  }));
  self()->send(ctx_, msg::to_wire_request(diffusion_request({5, 6, 7}, 16), 0, 0), me());
  const auto got = collect(1);
  ASSERT_TRUE(got[0].error);
  EXPECT_EQ(got[0].error->code, msg::error_code::peer_down);
  EXPECT_NE(got[0].error->message.find("failed on"), std::string::npos) << got[0].error->message;
  EXPECT_EQ(load().active_blocks, 0u);
}

TEST_F(ContextActorTest, BadBlocksGoToAnotherDenoiserAndTheOutputMatchesTheEngine) {
  // Registered first, so it is picked first at equal load: every block starts there.
  register_fake(spawn_faulty(*sys_, [](const msg::denoise_block& m) -> caf::result<msg::block_committed> {
    msg::block_committed bad;
    bad.job_id = m.job_id;
    bad.sequence_id = m.handle.sequence_id;
    bad.tokens = msg::pack_int32(std::vector<int32_t>{1, 2});  // the wrong number of tokens
    return bad;
  }));
  add_denoiser();
  const auto req = diffusion_request({5, 6, 7, 8, 9}, 40);
  const GenerateResult expected = Engine(*model_).generate(req);
  self()->send(ctx_, msg::to_wire_request(req, 0, 0), me());
  const auto got = collect(1);
  ASSERT_FALSE(got[0].error) << got[0].error->message;
  EXPECT_EQ(got[0].tokens, expected.tokens);
}

}  // namespace
}  // namespace tt::actors
