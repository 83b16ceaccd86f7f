#include "tools/eval/bootstrap.hpp"

#include <algorithm>
#include <random>

namespace tt::eval {

Interval bootstrap95(size_t n, const std::function<double(const std::vector<size_t>&)>& statistic, int resamples,
                     uint64_t seed) {
  if (n == 0 || resamples <= 0) return {};
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<size_t> pick(0, n - 1);
  std::vector<size_t> sample(n);
  std::vector<double> values(static_cast<size_t>(resamples));
  for (auto& v : values) {
    for (auto& i : sample) i = pick(rng);
    v = statistic(sample);
  }
  std::sort(values.begin(), values.end());
  const auto at = [&](double q) { return values[static_cast<size_t>(q * static_cast<double>(values.size() - 1) + 0.5)]; };
  return {at(0.025), at(0.975)};
}

}  // namespace tt::eval
