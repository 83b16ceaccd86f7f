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

using Statistic = std::function<double(const std::vector<size_t>&)>;

// The 2.5th and 97.5th percentiles of statistic(sample) over `resamples` samples of n indices drawn
// with replacement from 0..n-1 (seeded: the same inputs give the same interval). n = 0 gives {0, 0}.
Interval bootstrap95(size_t n, const Statistic& statistic, int resamples = 1000, uint64_t seed = 1234);

// The same over clusters: item i belongs to group group_of[i] (0..G-1, every group used); a sample
// draws G groups with replacement and holds all their items. Prompts from one document are
// correlated, so resampling them one by one would understate the spread. With group_of[i] = i it
// equals the item bootstrap above, draw for draw.
Interval bootstrap95(const std::vector<size_t>& group_of, const Statistic& statistic, int resamples = 1000,
                     uint64_t seed = 1234);

}  // namespace tt::eval
