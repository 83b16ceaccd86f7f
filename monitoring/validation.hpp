// Checks applied when a metric family is registered or a label set is first
// used: Prometheus name grammar plus the naming conventions promtool lints for.
// Each returns an empty string when the input is fine, else one line saying why.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "monitoring/metric.hpp"

namespace tt::mon {

// [a-z_][a-z0-9_]*: the Prometheus grammar, narrowed to snake_case (no
// capitals) and without ':' (reserved for recording rules). Counters end in
// "_total" and nothing else does; "_bucket", "_sum", "_count" are reserved for
// the series a histogram expands into.
std::string metric_name_error(std::string_view name, MetricType type);

// [a-z_][a-z0-9_]*, not starting with "__" (reserved for Prometheus itself),
// and not "le" or "quantile" (reserved for histogram buckets and summaries).
std::string label_name_error(std::string_view name);

// Finite and strictly increasing; a trailing +Inf is allowed (it is implicit).
std::string bucket_error(std::span<const double> bounds);

// Label values may be any text, but must be valid UTF-8 or the whole scrape
// is rejected by Prometheus.
std::string label_value_error(std::string_view value);

}  // namespace tt::mon
