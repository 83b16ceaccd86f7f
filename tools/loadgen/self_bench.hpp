// Loadgen's own ceiling: requests/s it sustains against the fake endpoint
// (zero delays, one server thread in this process), streaming vs not, as JSON.
#pragma once

#include <nlohmann/json.hpp>

namespace tt::capacity {

nlohmann::json self_bench(double seconds_per_variant, int concurrency);

}  // namespace tt::capacity
