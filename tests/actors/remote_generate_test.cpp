// The blocking client (`generate --connect`, `score --connect`) against a real context actor in
// another process, behind a front that loses the first hellos it gets, as CAF 0.17 sometimes does
// when many nodes connect at once: the client says hello again and gets the engine's tokens; a
// context that never answers a hello gives a clear error within the hello budget. A denoiser
// process says hello again too, and registers.
#include "actors/remote_generate.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/cluster_config.hpp"
#include "actors/context_actor.hpp"
#include "messages/interfaces.hpp"
#include "model/engine.hpp"
#include "model/error.hpp"
#include "tests/actors/cluster_fixture.hpp"

namespace tt::actors {
namespace {

using namespace std::chrono_literals;

struct LossyState {
  int lost = 0;
  std::vector<caf::typed_response_promise<msg::hello_ack>> never_answered;  // kept: nothing is sent yet
};

// Passes everything on to `real` except the first `lose` hellos of peers in `role`, which it
// keeps unanswered until a later hello (then their answers come too late).
msg::context_actor::behavior_type lossy_front(msg::context_actor::stateful_pointer<LossyState> self,
                                              msg::context_actor real, int lose, std::string role) {
  return {
    [=](const msg::hello& h) -> caf::result<msg::hello_ack> {
      if (h.role == role && self->state.lost < lose) {
        ++self->state.lost;
        self->state.never_answered.push_back(self->make_response_promise<msg::hello_ack>());
        return self->state.never_answered.back();
      }
      // The kept hellos are answered now, late: their senders have stopped waiting for them.
      for (auto& p : self->state.never_answered) p.deliver(msg::answer_hello(h));
      self->state.never_answered.clear();
      return self->delegate(real, h);
    },
    [=](const msg::generate_request& r, const msg::client_actor& c) { self->send(real, r, c); },
    [=](const msg::score_request& r, const msg::client_actor& c) { self->send(real, r, c); },
    [=](const msg::cancel_request& r, const msg::client_actor& c) { self->send(real, r, c); },
    [=](const msg::register_denoiser& r, const msg::denoiser_actor& d) -> caf::result<msg::hello_ack> {
      return self->delegate(real, r, d);
    },
    [=](const msg::release_handle& r) { self->send(real, r); },
    [=](msg::load_atom a) -> caf::result<msg::load_report> { return self->delegate(real, a); },
    [=](msg::stats_atom a) -> caf::result<msg::context_stats> { return self->delegate(real, a); },
  };
}

std::string tiny_model() { return std::string(TT_TEST_DATA) + "/tiny-random"; }

// A child process serving the lossy front on 127.0.0.1 (its port read back through a pipe);
// forked before this process starts any actor system. Killed when the test ends.
class LossyContext {
public:
  explicit LossyContext(int lose, const std::string& role = "client") {
    int fds[2];
    if (pipe(fds) != 0) throw Error("pipe failed");
    pid_ = fork();
    if (pid_ == 0) {
      close(fds[0]);
      serve(fds[1], lose, role);
      _exit(0);
    }
    close(fds[1]);
    uint16_t port = 0;
    if (read(fds[0], &port, sizeof port) == sizeof port) port_ = port;
    close(fds[0]);
  }
  ~LossyContext() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  uint16_t port() const { return port_; }

private:
  [[noreturn]] static void serve(int fd, int lose, const std::string& role) {
    ClusterConfig cfg;
    caf::actor_system sys{cfg};
    auto model = Model::load(tiny_model());
    auto real = caf::actor_cast<msg::context_actor>(spawn_context(sys, *model));
    auto front = sys.spawn(lossy_front, real, lose, role);
    auto port = sys.middleman().publish(front, 0, "127.0.0.1", true);
    const uint16_t p = port ? *port : 0;
    if (write(fd, &p, sizeof p) != sizeof p) _exit(1);
    close(fd);
    for (;;) pause();
  }
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

GenerateRequest ar_request() {
  GenerateRequest r;
  r.prompt = {5, 6, 7, 8};
  r.mode = Mode::ar;
  r.max_tokens = 12;
  r.ignore_eos = true;
  return r;
}

TEST(RemoteGenerateTest, HelloSaidAgainWhenTheFirstGetsNoAnswer) {
  LossyContext context(/*lose=*/2), scoring(/*lose=*/1);  // forked before any work here
  ASSERT_NE(context.port(), 0);
  ASSERT_NE(scoring.port(), 0);
  const auto start = std::chrono::steady_clock::now();
  const GenerateResult got = generate_remote("127.0.0.1", context.port(), ar_request(), 20s);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto model = Model::load(tiny_model());
  const GenerateResult expected = Engine(*model).generate(ar_request());
  EXPECT_EQ(got.tokens, expected.tokens);
  EXPECT_GE(seconds, 1.9);  // two hellos lost: answered on the third, after two waits of 1 s
  EXPECT_LT(seconds, 10.0);

  // Scoring goes through the same handshake.
  const std::vector<int32_t> prompt{5, 6, 7}, continuation{8, 9};
  const ScoreResult s = score_remote("127.0.0.1", scoring.port(), prompt, continuation, 20s);
  const ScoreResult e = Engine(*model).score(prompt, continuation);
  EXPECT_NEAR(s.logprob, e.logprob, 1e-9);
}

TEST(RemoteGenerateTest, AContextThatNeverAnswersHelloIsAClearErrorWithinTheBudget) {
  LossyContext context(/*lose=*/1000);
  ASSERT_NE(context.port(), 0);
  const auto start = std::chrono::steady_clock::now();
  std::string error;
  try {
    generate_remote("127.0.0.1", context.port(), ar_request(), 3s);
  } catch (const Error& e) {
    error = e.what();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_NE(error.find("no answer to hello within 3000 ms ("), std::string::npos) << error;
  EXPECT_NE(error.find(" attempts; last: "), std::string::npos) << error;  // said again, in vain
  EXPECT_GE(seconds, 2.9);
  EXPECT_LT(seconds, 6.0);
}

TEST(RemoteGenerateTest, ADenoiserSaysHelloAgainAndRegisters) {
  LossyContext context(/*lose=*/2, "denoiser");
  ASSERT_NE(context.port(), 0);
  const auto start = std::chrono::steady_clock::now();
  test::Child denoiser({"denoiser", "--context", "127.0.0.1:" + std::to_string(context.port()), "--model",
                        tiny_model(), "--threads", "1"},
                       "/dev/null", ::testing::TempDir() + "lossy_denoiser.err");
  GenerateRequest r = ar_request();
  r.mode = Mode::diffusion;  // needs the denoiser: its blocks go there
  r.diffusion.gamma = 0.5;
  std::string error;
  GenerateResult got;
  try {
    got = generate_remote("127.0.0.1", context.port(), r, 30s);
  } catch (const Error& e) {
    error = e.what();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  denoiser.kill_now();
  ASSERT_TRUE(error.empty()) << error;
  auto model = Model::load(tiny_model());
  EXPECT_EQ(got.tokens, Engine(*model).generate(r).tokens);
  EXPECT_GT(got.denoiser_forwards, 0);
  EXPECT_GE(seconds, 1.9);  // the denoiser's first two hellos were lost: registered after two waits of 1 s
}

}  // namespace
}  // namespace tt::actors
