// The Prometheus text exposition format, version 0.0.4: what /metrics returns.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "monitoring/family.hpp"

namespace tt::mon {

class Registry;

// The Content-Type header to send with render()'s output.
inline constexpr std::string_view exposition_content_type = "text/plain; version=0.0.4; charset=utf-8";

// Every family of the registry, sorted by name: `# HELP`, `# TYPE`, then one
// line per sample (histograms: cumulative `_bucket` lines up to le="+Inf",
// `_sum`, `_count`). Families with no children yet are left out.
std::string render(const Registry& registry);
std::string render(std::span<const FamilySnapshot> families);

// Escaping, exposed for tests: help text escapes `\` and newline; label values
// also escape `"`.
std::string escape_help(std::string_view text);
std::string escape_label_value(std::string_view text);

}  // namespace tt::mon
