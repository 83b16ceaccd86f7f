#include "tools/eval/bootstrap.hpp"

#include <algorithm>
#include <numeric>
#include <random>

namespace tt::eval {

Interval bootstrap95(size_t n, const Statistic& statistic, int resamples, uint64_t seed) {
  std::vector<size_t> own(n);
  std::iota(own.begin(), own.end(), size_t{0});
  return bootstrap95(own, statistic, resamples, seed);
}

Interval bootstrap95(const std::vector<size_t>& group_of, const Statistic& statistic, int resamples, uint64_t seed) {
  if (group_of.empty() || resamples <= 0) return {};
  std::vector<std::vector<size_t>> members(*std::max_element(group_of.begin(), group_of.end()) + 1);
  for (size_t i = 0; i < group_of.size(); ++i) members[group_of[i]].push_back(i);
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<size_t> pick(0, members.size() - 1);
  std::vector<size_t> sample;
  std::vector<double> values(static_cast<size_t>(resamples));
  for (auto& v : values) {
    sample.clear();
    for (size_t g = 0; g < members.size(); ++g) {
      const auto& m = members[pick(rng)];
      sample.insert(sample.end(), m.begin(), m.end());
    }
    v = statistic(sample);
  }
  std::sort(values.begin(), values.end());
  const auto at = [&](double q) { return values[static_cast<size_t>(q * static_cast<double>(values.size() - 1) + 0.5)]; };
  return {at(0.025), at(0.975)};
}

}  // namespace tt::eval
