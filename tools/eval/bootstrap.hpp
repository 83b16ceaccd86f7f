// Percentile bootstrap over prompts: how far a model-card figure could move
// with another draw of held-out prompts of the same kind.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

namespace tt::eval {

struct Interval {
  double lo = 0, hi = 0;
};

// The 2.5th and 97.5th percentiles of statistic(sample) over `resamples` samples of n indices drawn
// with replacement from 0..n-1 (seeded: the same inputs give the same interval). n = 0 gives {0, 0}.
Interval bootstrap95(size_t n, const std::function<double(const std::vector<size_t>&)>& statistic,
                     int resamples = 1000, uint64_t seed = 1234);

}  // namespace tt::eval
