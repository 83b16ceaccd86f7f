// Number formatting for the exposition: exact, round-trippable, no exponent
// noise on the integers that counters and bucket bounds mostly are.
#include "monitoring/number_format.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>

namespace tt::mon {

std::string format_number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == 0.0) return "0";  // also -0, which Prometheus would show as "-0"
  char buf[64];
  constexpr double exact_integers = 9007199254740992.0;  // 2^53
  if (std::trunc(v) == v && std::fabs(v) < exact_integers) {
    const auto r = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(v));
    return std::string(buf, r.ptr);
  }
  const auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip
  return std::string(buf, r.ptr);
}

}  // namespace tt::mon
