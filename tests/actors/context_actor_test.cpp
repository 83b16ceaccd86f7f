// Context and denoiser actors in one process (in-process cache transport):
// the engine's tokens and counters, leases released, handshake refusals.
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

std::unique_ptr<Model> tiny() { return Model::load(std::string(TT_TEST_DATA) + "/tiny-random"); }

msg::generate_request wire_of(const GenerateRequest& r, uint64_t id) {
  msg::generate_request w;
  w.request_id = id;
  w.prompt_tokens = msg::pack_int32(r.prompt);
  w.mode = msg::to_wire(r.mode);
  w.max_tokens = r.max_tokens;
  w.gamma = r.diffusion.gamma;
  w.block_size = r.diffusion.block_size;
  w.steps = r.diffusion.steps;
  w.temperature = r.diffusion.temperature;
  w.seed = r.diffusion.seed;
  w.deadline_unix_ms = 0;
  return w;
}

TEST(ContextActor, InProcessDenoisersMatchTheEngine) {
  auto model = tiny();
  std::vector<GenerateRequest> reqs(4);
  reqs[0].prompt = {5, 6, 7, 8, 9};
  reqs[0].max_tokens = 40;
  reqs[1].prompt = {11, 3};
  reqs[1].max_tokens = 21;
  reqs[1].diffusion.gamma = 0.5f;
  reqs[1].diffusion.block_size = 8;
  reqs[2].prompt = {42};
  reqs[2].mode = Mode::mock_ar;
  reqs[2].max_tokens = 10;
  reqs[3].prompt = {42, 43};
  reqs[3].mode = Mode::ar;
  reqs[3].max_tokens = 10;
  std::vector<GenerateResult> expected;
  {
    Engine engine(*model);
    for (const auto& r : reqs) expected.push_back(engine.generate(r));
  }
  ClusterConfig cfg;
  caf::actor_system sys{cfg};
  auto context = spawn_context(sys, *model);
  auto ctx = caf::actor_cast<msg::context_actor>(context);
  auto d1 = spawn_registered_denoiser(sys, *model, ctx, 5s, [](std::string) {});
  auto d2 = spawn_registered_denoiser(sys, *model, ctx, 5s, [](std::string) {});
  caf::scoped_actor self{sys};
  const auto me = caf::actor_cast<msg::client_actor>(self);
  for (size_t i = 0; i < reqs.size(); ++i) self->send(ctx, wire_of(reqs[i], i), me);
  std::vector<std::vector<int32_t>> got(reqs.size());
  std::vector<msg::token_chunk> last(reqs.size());
  size_t finals = 0;
  while (finals < reqs.size()) {
    bool timed_out = false;
    self->receive(
      [&](const msg::token_chunk& c) {
        ASSERT_LT(c.request_id, reqs.size());
        auto t = msg::unpack_int32(c.tokens, "tokens");
        got[c.request_id].insert(got[c.request_id].end(), t.value.begin(), t.value.end());
        EXPECT_EQ(c.committed_total, got[c.request_id].size());
        last[c.request_id] = c;
        finals += c.final;
      },
      [&](const msg::request_error& e) { FAIL() << e.message; },
      caf::after(60s) >> [&] { timed_out = true; });
    ASSERT_FALSE(timed_out);
  }
  for (size_t i = 0; i < reqs.size(); ++i) {
    SCOPED_TRACE("request " + std::to_string(i));
    EXPECT_EQ(got[i], expected[i].tokens);
    EXPECT_EQ(last[i].finish, msg::to_wire(expected[i].finish));
    EXPECT_EQ(last[i].denoiser_forwards, expected[i].denoiser_forwards);
    EXPECT_EQ(last[i].context_forwards, expected[i].context_forwards);
  }
  EXPECT_EQ(in_process::size(), 0u);  // every pointer lease ended with its block
  for (auto* a : {&d1, &d2}) self->send_exit(*a, caf::exit_reason::user_shutdown);
  self->send_exit(context, caf::exit_reason::user_shutdown);
}

TEST(ContextActor, RefusesAnotherProtocolVersionAndUngreetedDenoisers) {
  auto model = tiny();
  ClusterConfig cfg;
  caf::actor_system sys{cfg};
  auto context = spawn_context(sys, *model);
  auto ctx = caf::actor_cast<msg::context_actor>(context);
  caf::scoped_actor self{sys};
  auto hello = msg::make_hello("denoiser", "test", 1);
  hello.protocol_version = msg::protocol_version + 1;
  self->request(ctx, 5s, hello)
    .receive([&](const msg::hello_ack& ack) {
               EXPECT_FALSE(ack.accepted);
               EXPECT_NE(ack.reason.find("protocol version mismatch"), std::string::npos) << ack.reason;
             },
             [&](caf::error& e) { FAIL() << sys.render(e); });
  auto d = spawn_denoiser(sys, *model);
  self->request(ctx, 5s, msg::register_denoiser{"test", 1, 0}, caf::actor_cast<msg::denoiser_actor>(d))
    .receive([&](const msg::hello_ack& ack) {
               EXPECT_FALSE(ack.accepted);
               EXPECT_NE(ack.reason.find("hello"), std::string::npos) << ack.reason;
             },
             [&](caf::error& e) { FAIL() << sys.render(e); });
  self->send_exit(d, caf::exit_reason::user_shutdown);
  self->send_exit(context, caf::exit_reason::user_shutdown);
}

TEST(ContextActor, BadRequestIsAnErrorValue) {
  auto model = tiny();
  ClusterConfig cfg;
  caf::actor_system sys{cfg};
  auto context = spawn_context(sys, *model);
  auto ctx = caf::actor_cast<msg::context_actor>(context);
  caf::scoped_actor self{sys};
  GenerateRequest r;
  r.prompt = {model->config.vocab_size + 5};
  self->send(ctx, wire_of(r, 7), caf::actor_cast<msg::client_actor>(self));
  self->receive([&](const msg::request_error& e) {
                  EXPECT_EQ(e.request_id, 7u);
                  EXPECT_EQ(e.code, msg::error_code::bad_request);
                },
                caf::after(10s) >> [] { FAIL() << "no answer"; });
  self->send_exit(context, caf::exit_reason::user_shutdown);
}

}  // namespace
}  // namespace tt::actors
