// Opaque CUDA/NCCL handles as text: lowercase hex of their bytes (ipc.hpp, nccl_pair.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace tt::cuda {

inline std::string hex_encode(const uint8_t* bytes, size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s(2 * n, '0');
  for (size_t i = 0; i < n; ++i) s[2 * i] = digits[bytes[i] >> 4], s[2 * i + 1] = digits[bytes[i] & 15];
  return s;
}

// `text` must be exactly 2 * n hex digits (either case); std::invalid_argument naming `what` otherwise.
inline void hex_decode(std::string_view text, uint8_t* out, size_t n, const char* what) {
  if (text.size() != 2 * n)
    throw std::invalid_argument(std::string(what) + ": expected " + std::to_string(2 * n) + " hex digits");
  auto digit = [&](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw std::invalid_argument(std::string(what) + ": bad hex digit");
  };
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(digit(text[2 * i]) * 16 + digit(text[2 * i + 1]));
}

}  // namespace tt::cuda
