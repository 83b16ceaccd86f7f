// A blocking client of one context actor.
#include "actors/remote_generate.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/cache_transport.hpp"
#include "actors/cluster_config.hpp"
#include "messages/engine_bridge.hpp"
#include "messages/interfaces.hpp"
#include "model/error.hpp"

namespace tt::actors {

GenerateResult generate_remote(const std::string& host, uint16_t port, const GenerateRequest& request,
                               std::chrono::milliseconds timeout) {
  using clock = std::chrono::steady_clock;
  const auto where = host + ":" + std::to_string(port);
  ClusterConfig cfg;
  caf::actor_system sys{cfg};
  auto context = sys.middleman().remote_actor<msg::context_actor>(host, port);
  if (!context) throw Error("--connect " + where + ": cannot connect: " + sys.render(context.error()));

  msg::generate_request wire;
  wire.request_id = 1;
  wire.prompt_tokens = msg::pack_int32(request.prompt);
  wire.mode = msg::to_wire(request.mode);
  wire.max_tokens = request.max_tokens;
  wire.gamma = request.diffusion.gamma;
  wire.block_size = request.diffusion.block_size;
  wire.steps = request.diffusion.steps;
  wire.temperature = request.diffusion.temperature;
  wire.seed = request.diffusion.seed;
  wire.deadline_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch() + timeout)
                              .count();

  caf::scoped_actor self{sys};
  // The handshake first: a context of another protocol version is refused with its reason.
  const auto hello_timeout = std::min<std::chrono::milliseconds>(timeout, std::chrono::seconds(10));
  std::string refused;
  self->request(*context, hello_timeout, msg::make_hello("client", this_process().node, this_process().pid))
    .receive([&](const msg::hello_ack& ack) { refused = ack.accepted ? "" : ack.reason; },
             [&](caf::error& e) { refused = "no answer to hello: " + sys.render(e); });
  if (!refused.empty()) throw Error("--connect " + where + ": " + refused);
  self->monitor(*context);
  const auto start = clock::now();
  // The context may be slow to notice its own deadline: allow it a little longer.
  const auto give_up = start + timeout + std::chrono::seconds(2);
  self->send(*context, wire, caf::actor_cast<msg::client_actor>(self));

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
  // Diffusion commits whole blocks: the count the engine reports (token_chunk has no field for it yet).
  if (request.mode == Mode::diffusion) {
    const int s = request.diffusion.block_size, n = static_cast<int>(result.tokens.size());
    result.committed_tokens = (n + s - 1) / s * s;
  } else if (request.mode == Mode::mock_ar) {
    result.committed_tokens = static_cast<int>(result.tokens.size());
  }
  return result;
}

}  // namespace tt::actors
