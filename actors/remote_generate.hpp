// The client side of `twotower generate --connect` and `score --connect`: one
// request to a context actor, its answer in the in-process engine's result type.
#pragma once

#include <chrono>
#include <string>

#include "actors/tls.hpp"
#include "model/engine_types.hpp"

namespace tt::actors {

// Sends `request` to the context actor at host:port and waits for its final
// chunk; throws tt::Error with one line on a refused connection, a
// request_error, a context that goes down, or `timeout` (also the deadline).
GenerateResult generate_remote(const std::string& host, uint16_t port, const GenerateRequest& request,
                               std::chrono::milliseconds timeout, const TlsFiles& tls = {});

// The log-likelihood of `continuation` after `prompt` from the context actor
// at host:port (the same figures as Engine::score); errors as generate_remote.
ScoreResult score_remote(const std::string& host, uint16_t port, const std::vector<int32_t>& prompt,
                         const std::vector<int32_t>& continuation, std::chrono::milliseconds timeout,
                         const TlsFiles& tls = {});

}  // namespace tt::actors
