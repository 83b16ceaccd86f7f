// Between the wire and the in-process engine (model/engine_types.hpp): wire enums to
// engine enums and back, and a generate_request decoded into an engine request.
#pragma once

#include "messages/bytes.hpp"
#include "messages/request.hpp"
#include "messages/response.hpp"
#include "model/engine_types.hpp"

namespace tt::msg {

request_mode to_wire(Mode m);
finish_reason to_wire(FinishReason r);

// Decodes the wire form (mode known, prompt a whole number of int32 values);
// range checks against the model stay with tt::validate.
decoded<GenerateRequest> to_engine_request(const generate_request& r);

// The wire form of an engine request (the client side of to_engine_request).
generate_request to_wire_request(const GenerateRequest& r, uint64_t request_id, int64_t deadline_unix_ms);

}  // namespace tt::msg
