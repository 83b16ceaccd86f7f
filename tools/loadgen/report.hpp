// A sweep's results as CSV (one row per point) and as an SVG plot of latency
// against throughput, written by our own code (no plotting dependency).
#pragma once

#include <string>
#include <vector>

#include "tools/loadgen/stats.hpp"

namespace tt::capacity {

std::string to_csv(const std::vector<Summary>& points);
// x: output tokens/s; y: TTFT and end-to-end latency p50/p99 (seconds).
std::string to_svg(const std::vector<Summary>& points, const std::string& title);
// Writes `text` to `path`; throws tt::Error naming the path.
void write_file(const std::string& path, const std::string& text);

}  // namespace tt::capacity
