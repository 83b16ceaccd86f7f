// Byte buffers for large payloads on the wire, and little-endian packing of
// token ids / floats into them (CAF 0.17 copies byte vectors with one memcpy but
// serialises numeric vectors element by element, ~11x slower).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tt::msg {

// A tensor or token array on the wire: little-endian elements, no header.
using bytes = std::vector<uint8_t>;

// A decoded value, or a one-line reason it could not be decoded (errors are
// values at the boundary: a malformed message must not throw inside an actor).
template <class T>
struct decoded {
  T value{};
  std::string error;  // empty on success
  explicit operator bool() const { return error.empty(); }
};

bytes pack_int32(std::span<const int32_t> values);
bytes pack_float32(std::span<const float> values);
bytes pack_float64(std::span<const double> values);

// `field` names the message field in the error, e.g. "generate_request.prompt_tokens".
// An empty buffer decodes to an empty vector; a size that is not a whole number
// of elements is an error.
decoded<std::vector<int32_t>> unpack_int32(std::span<const uint8_t> data, std::string_view field);
decoded<std::vector<float>> unpack_float32(std::span<const uint8_t> data, std::string_view field);
decoded<std::vector<double>> unpack_float64(std::span<const uint8_t> data, std::string_view field);

}  // namespace tt::msg
