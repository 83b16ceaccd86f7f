// Little-endian packing of numeric arrays into wire byte buffers.
#include "messages/bytes.hpp"

#include <bit>
#include <cstring>
#include <type_traits>

namespace tt::msg {
namespace {

template <class T>
bytes pack(std::span<const T> values) {
  static_assert(std::is_trivially_copyable_v<T>);
  bytes out(values.size() * sizeof(T));
  if constexpr (std::endian::native == std::endian::little) {
    if (!out.empty()) std::memcpy(out.data(), values.data(), out.size());
  } else {
    using U = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
    for (size_t i = 0; i < values.size(); ++i) {
      const U u = std::bit_cast<U>(values[i]);
      for (size_t b = 0; b < sizeof(T); ++b) out[i * sizeof(T) + b] = static_cast<uint8_t>(u >> (8 * b));
    }
  }
  return out;
}

template <class T>
decoded<std::vector<T>> unpack(std::span<const uint8_t> data, std::string_view field,
                               const char* element_name) {
  decoded<std::vector<T>> result;
  if (data.size() % sizeof(T) != 0) {
    result.error = std::string(field) + ": " + std::to_string(data.size()) +
                   " bytes is not a whole number of " + element_name + " values (" +
                   std::to_string(sizeof(T)) + " bytes each)";
    return result;
  }
  result.value.resize(data.size() / sizeof(T));
  if constexpr (std::endian::native == std::endian::little) {
    if (!data.empty()) std::memcpy(result.value.data(), data.data(), data.size());
  } else {
    using U = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
    for (size_t i = 0; i < result.value.size(); ++i) {
      U u = 0;
      for (size_t b = 0; b < sizeof(T); ++b) u |= static_cast<U>(data[i * sizeof(T) + b]) << (8 * b);
      result.value[i] = std::bit_cast<T>(u);
    }
  }
  return result;
}

}  // namespace

bytes pack_int32(std::span<const int32_t> values) { return pack(values); }
bytes pack_float32(std::span<const float> values) { return pack(values); }
bytes pack_float64(std::span<const double> values) { return pack(values); }

decoded<std::vector<int32_t>> unpack_int32(std::span<const uint8_t> data, std::string_view field) {
  return unpack<int32_t>(data, field, "int32");
}
decoded<std::vector<float>> unpack_float32(std::span<const uint8_t> data, std::string_view field) {
  return unpack<float>(data, field, "float32");
}
decoded<std::vector<double>> unpack_float64(std::span<const uint8_t> data, std::string_view field) {
  return unpack<double>(data, field, "float64");
}

}  // namespace tt::msg
