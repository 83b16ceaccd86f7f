// Conversions between wire messages and engine types.
#include "messages/engine_bridge.hpp"

#include <utility>

namespace tt::msg {

request_mode to_wire(Mode m) {
  switch (m) {
    case Mode::diffusion: return request_mode::diffusion;
    case Mode::ar: return request_mode::ar;
    case Mode::mock_ar: return request_mode::mock_ar;
  }
  return request_mode::diffusion;  // unreachable: every Mode is listed above
}

finish_reason to_wire(FinishReason r) {
  switch (r) {
    case FinishReason::length: return finish_reason::length;
    case FinishReason::stop: return finish_reason::stop;
  }
  return finish_reason::length;  // unreachable: every FinishReason is listed above
}

decoded<GenerateRequest> to_engine_request(const generate_request& r) {
  decoded<GenerateRequest> out;
  switch (r.mode) {
    case request_mode::diffusion: out.value.mode = Mode::diffusion; break;
    case request_mode::ar: out.value.mode = Mode::ar; break;
    case request_mode::mock_ar: out.value.mode = Mode::mock_ar; break;
  }
  if (!is_known(r.mode)) {
    out.error = "generate_request.mode: unknown mode " + to_string(r.mode);
    return out;
  }
  auto prompt = unpack_int32(r.prompt_tokens, "generate_request.prompt_tokens");
  if (!prompt) {
    out.error = std::move(prompt.error);
    return out;
  }
  out.value.prompt = std::move(prompt.value);
  out.value.max_tokens = r.max_tokens;
  out.value.diffusion.gamma = r.gamma;
  out.value.diffusion.block_size = r.block_size;
  out.value.diffusion.steps = r.steps;
  out.value.diffusion.temperature = r.temperature;
  out.value.diffusion.seed = r.seed;
  out.value.ignore_eos = r.ignore_eos;
  return out;
}

generate_request to_wire_request(const GenerateRequest& r, uint64_t request_id, int64_t deadline_unix_ms) {
  generate_request w;
  w.request_id = request_id;
  w.prompt_tokens = pack_int32(r.prompt);
  w.mode = to_wire(r.mode);
  w.max_tokens = r.max_tokens;
  w.gamma = r.diffusion.gamma;
  w.block_size = r.diffusion.block_size;
  w.steps = r.diffusion.steps;
  w.temperature = r.diffusion.temperature;
  w.seed = r.diffusion.seed;
  w.deadline_unix_ms = deadline_unix_ms;
  w.ignore_eos = r.ignore_eos;
  return w;
}

}  // namespace tt::msg
