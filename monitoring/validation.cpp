// Name, bucket and label-value checks for metric registration.
#include "monitoring/validation.hpp"

#include <cmath>
#include <string>

#include "monitoring/number_format.hpp"

namespace tt::mon {
namespace {

bool is_lower_alpha(char c) { return c >= 'a' && c <= 'z'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// snake_case identifier: [a-z_][a-z0-9_]*. Returns the reason it is not one.
std::string identifier_error(std::string_view name, std::string_view what) {
  if (name.empty()) return std::string(what) + " is empty";
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (is_lower_alpha(c) || c == '_' || (i > 0 && is_digit(c))) continue;
    std::string why = std::string(what) + " \"" + std::string(name) + "\" ";
    if (c >= 'A' && c <= 'Z') return why + "must be snake_case (no capital letters)";
    if (c == ':') return why + "must not contain ':' (reserved for recording rules)";
    if (i == 0 && is_digit(c)) return why + "must not start with a digit";
    return why + "has a character outside [a-z0-9_] at offset " + std::to_string(i);
  }
  return {};
}

}  // namespace

std::string metric_name_error(std::string_view name, MetricType type) {
  if (auto e = identifier_error(name, "metric name"); !e.empty()) return e;
  const std::string quoted = "metric name \"" + std::string(name) + "\" ";
  if (type == MetricType::counter && !name.ends_with("_total"))
    return quoted + "is a counter and must end in \"_total\"";
  if (type != MetricType::counter && name.ends_with("_total"))
    return quoted + "ends in \"_total\", which is only for counters (this is a " + std::string(to_string(type)) + ")";
  for (std::string_view suffix : {"_bucket", "_sum", "_count"})
    if (name.ends_with(suffix))
      return quoted + "ends in \"" + std::string(suffix) + "\", which is reserved for histogram series";
  return {};
}

std::string label_name_error(std::string_view name) {
  if (auto e = identifier_error(name, "label name"); !e.empty()) return e;
  const std::string quoted = "label name \"" + std::string(name) + "\" ";
  if (name.starts_with("__")) return quoted + "starts with \"__\", which is reserved for Prometheus";
  if (name == "le") return quoted + "is reserved for histogram bucket bounds";
  if (name == "quantile") return quoted + "is reserved for summary quantiles";
  return {};
}

std::string bucket_error(std::span<const double> bounds) {
  for (size_t i = 0; i < bounds.size(); ++i) {
    const double b = bounds[i];
    const bool trailing_inf = i + 1 == bounds.size() && std::isinf(b) && b > 0;
    if (!std::isfinite(b) && !trailing_inf)
      return "bucket bound " + std::to_string(i) + " is not finite (+Inf is implicit; only a last +Inf is allowed)";
    if (i > 0 && !(b > bounds[i - 1]))
      return "bucket bounds must be strictly increasing: bound " + std::to_string(i) + " (" + format_number(b) +
             ") follows " + format_number(bounds[i - 1]);
  }
  return {};
}

std::string label_value_error(std::string_view value) {
  // Well-formed UTF-8 (RFC 3629): no overlongs, no surrogates, <= U+10FFFF.
  const auto* s = reinterpret_cast<const unsigned char*>(value.data());
  const size_t n = value.size();
  for (size_t i = 0; i < n;) {
    const unsigned char c = s[i];
    size_t len;
    unsigned lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return "label value is not valid UTF-8 (bad lead byte at offset " + std::to_string(i) + ")";
    }
    if (i + len > n) return "label value is not valid UTF-8 (truncated sequence at offset " + std::to_string(i) + ")";
    if (s[i + 1] < lo || s[i + 1] > hi)
      return "label value is not valid UTF-8 (bad continuation at offset " + std::to_string(i + 1) + ")";
    for (size_t k = 2; k < len; ++k)
      if (s[i + k] < 0x80 || s[i + k] > 0xBF)
        return "label value is not valid UTF-8 (bad continuation at offset " + std::to_string(i + k) + ")";
    i += len;
  }
  return {};
}

}  // namespace tt::mon
