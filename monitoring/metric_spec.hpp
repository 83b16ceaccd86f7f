// The static description of a metric family, as names.hpp lists them: enough
// to register it (see Registry) and to document it in one place.
#pragma once

#include <span>
#include <string_view>

#include "monitoring/metric.hpp"

namespace tt::mon {

struct MetricSpec {
  MetricType type = MetricType::counter;
  std::string_view name;
  std::string_view help;
  std::span<const std::string_view> label_names = {};
  std::span<const double> buckets = {};  // histograms only; +Inf is implicit
};

}  // namespace tt::mon
