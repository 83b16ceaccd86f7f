// The client side of `twotower generate --connect`: one request to a context
// actor, its streamed chunks gathered into the in-process engine's result type.
#pragma once

#include <chrono>
#include <string>

#include "model/engine_types.hpp"

namespace tt::actors {

// Sends `request` to the context actor at host:port and waits for its final
// chunk; throws tt::Error with one line on a refused connection, a
// request_error, a context that goes down, or `timeout` (also the deadline).
GenerateResult generate_remote(const std::string& host, uint16_t port, const GenerateRequest& request,
                               std::chrono::milliseconds timeout);

}  // namespace tt::actors
