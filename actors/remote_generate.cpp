// A blocking client of one context actor.
#include "actors/remote_generate.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/cache_transport.hpp"
#include "actors/cluster_config.hpp"
#include "actors/tls.hpp"
#include "messages/engine_bridge.hpp"
#include "messages/interfaces.hpp"
#include "model/error.hpp"

namespace tt::actors {
namespace {

int64_t deadline_after(std::chrono::milliseconds timeout) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch() +
                                                               timeout)
    .count();
}

// Connects (over TLS when configured) and says hello; throws tt::Error with the reason.
// CAF 0.17 sometimes loses a message while several nodes connect to the context at once: the
// context receives the hello with a null sender and cannot answer, or the new connection drops
// (seen under load with 7 clients connecting together). So a hello unanswered after
// hello_attempt_wait is said again, over a new connection when the old one died, until the hello
// budget (the smaller of `timeout` and 10 s) is spent; the context answers each hello at once.
// Any other error ends the handshake at once.
msg::context_actor connect_and_greet(caf::actor_system& sys, caf::scoped_actor& self, const std::string& host,
                                     uint16_t port, std::chrono::milliseconds timeout) {
  using clock = std::chrono::steady_clock;
  const auto where = host + ":" + std::to_string(port);
  const auto budget = std::min<std::chrono::milliseconds>(timeout, std::chrono::seconds(10));
  const auto until = clock::now() + budget;
  std::string last_error;
  for (int attempt = 1;; ++attempt) {
    auto context = connect_actor<msg::context_actor>(sys, host, port);
    if (!context) throw Error("--connect " + where + ": cannot connect: " + sys.render(context.error()));
    // The handshake first: a context of another protocol version is refused with its reason.
    bool answered = false, timed_out = false;
    std::string refused;
    const auto hello = msg::make_hello("client", this_process().node, this_process().pid);
    self->request(*context, hello_attempt_wait(until), hello)
      .receive(
        [&](const msg::hello_ack& ack) {
          answered = true;
          refused = ack.accepted ? "" : ack.reason;
        },
        [&](caf::error& e) {
          timed_out = e == caf::sec::request_timeout;
          last_error = sys.render(e);
        });
    if (answered) {
      if (!refused.empty()) throw Error("--connect " + where + ": " + refused);
      self->monitor(*context);
      return *context;
    }
    if (!timed_out) throw Error("--connect " + where + ": hello failed: " + last_error);
    if (clock::now() >= until)
      throw Error("--connect " + where + ": no answer to hello within " + std::to_string(budget.count()) + " ms (" +
                  std::to_string(attempt) + " attempt" + (attempt == 1 ? "" : "s") + "; last: " + last_error + ")");
  }
}

}  // namespace

ScoreResult score_remote(const std::string& host, uint16_t port, const std::vector<int32_t>& prompt,
                         const std::vector<int32_t>& continuation, std::chrono::milliseconds timeout,
                         const TlsFiles& tls) {
  const auto where = host + ":" + std::to_string(port);
  ClusterConfig cfg;
  apply_tls(cfg, tls);
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  auto context = connect_and_greet(sys, self, host, port, timeout);
  msg::score_request wire{1, msg::pack_int32(prompt), msg::pack_int32(continuation), deadline_after(timeout)};
  self->send(context, wire, caf::actor_cast<msg::client_actor>(self));
  ScoreResult result;
  std::string error;
  self->receive(
    [&](const msg::score_result& s) {
      auto lp = msg::unpack_float64(s.token_logprobs, "score_result.token_logprobs");
      if (!lp) return void(error = lp.error);
      result.logprob = s.logprob;
      result.token_logprobs = std::move(lp.value);
    },
    [&](const msg::request_error& e) { error = msg::to_string(e.code) + ": " + e.message; },
    [&](const msg::token_chunk&) { error = "the context actor answered a score request with tokens"; },
    [&](caf::down_msg& d) { error = "the context actor at " + where + " went down (" + sys.render(d.reason) + ")"; },
    caf::after(timeout) >> [&] { error = "no answer from the context actor at " + where + " within the deadline"; });
  if (!error.empty()) throw Error(error);
  return result;
}

GenerateResult generate_remote(const std::string& host, uint16_t port, const GenerateRequest& request,
                               std::chrono::milliseconds timeout, const TlsFiles& tls) {
  using clock = std::chrono::steady_clock;
  const auto where = host + ":" + std::to_string(port);
  ClusterConfig cfg;
  apply_tls(cfg, tls);
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  auto context = connect_and_greet(sys, self, host, port, timeout);
  const auto wire = msg::to_wire_request(request, 1, deadline_after(timeout));
  const auto start = clock::now();
  // The context may be slow to notice its own deadline: allow it a little longer.
  const auto give_up = start + timeout + std::chrono::seconds(2);
  self->send(context, wire, caf::actor_cast<msg::client_actor>(self));

  GenerateResult result;
  result.prompt_tokens = static_cast<int>(request.prompt.size());
  std::string error;
  bool done = false;
  while (!done) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(give_up - clock::now());
    if (left.count() <= 0) {
      error = "no answer from the context actor at " + where + " within the deadline";
      break;
    }
    self->receive(
      [&](const msg::token_chunk& c) {
        auto tokens = msg::unpack_int32(c.tokens, "token_chunk.tokens");
        if (!tokens) {
          error = tokens.error;
          done = true;
          return;
        }
        result.tokens.insert(result.tokens.end(), tokens.value.begin(), tokens.value.end());
        result.denoiser_forwards = c.denoiser_forwards;
        result.context_forwards = c.context_forwards;
        result.committed_tokens = static_cast<int>(c.committed_tokens);
        if (!c.final) return;
        done = true;
        switch (c.finish) {
          case msg::finish_reason::length: result.finish = FinishReason::length; break;
          case msg::finish_reason::stop: result.finish = FinishReason::stop; break;
          case msg::finish_reason::running:
          case msg::finish_reason::cancelled: error = "the request was cancelled"; break;
        }
      },
      [&](const msg::request_error& e) {
        error = msg::to_string(e.code) + ": " + e.message;
        done = true;
      },
      [&](const msg::score_result&) {},
      [&](caf::down_msg& d) {
        error = "the context actor at " + where + " went down (" + sys.render(d.reason) + ")";
        done = true;
      },
      caf::after(left) >> [&] {});
  }
  if (!error.empty()) throw Error(error);
  result.seconds = std::chrono::duration<double>(clock::now() - start).count();
  return result;
}

}  // namespace tt::actors
