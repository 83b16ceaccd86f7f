// The bootstrap interval of `twotower eval`'s figures.
#include "tools/eval/bootstrap.hpp"

#include <gtest/gtest.h>

#include <numeric>

namespace tt::eval {
namespace {

double mean_of(const std::vector<double>& v, const std::vector<size_t>& s) {
  double sum = 0;
  for (size_t i : s) sum += v[i];
  return sum / static_cast<double>(s.size());
}

TEST(Bootstrap95, EqualItemsGiveAPointInterval) {
  const std::vector<double> v(20, 2.5);
  const Interval i = bootstrap95(v.size(), [&](const std::vector<size_t>& s) { return mean_of(v, s); });
  EXPECT_DOUBLE_EQ(i.lo, 2.5);
  EXPECT_DOUBLE_EQ(i.hi, 2.5);
}

TEST(Bootstrap95, CoversTheMeanAndNarrowsWithMoreItems) {
  // Items 0, 1, 2, ... 9 repeated: mean 4.5, standard deviation 2.87.
  auto width = [](size_t n) {
    std::vector<double> v(n);
    for (size_t k = 0; k < n; ++k) v[k] = static_cast<double>(k % 10);
    const Interval i = bootstrap95(n, [&](const std::vector<size_t>& s) { return mean_of(v, s); });
    EXPECT_LT(i.lo, 4.5);
    EXPECT_GT(i.hi, 4.5);
    return i.hi - i.lo;
  };
  const double w40 = width(40), w640 = width(640);
  // Normal approximation: 2 x 1.96 x 2.87 / sqrt(n) = 1.78 (n = 40) and 0.44 (n = 640).
  EXPECT_NEAR(w40, 1.78, 0.3);
  EXPECT_NEAR(w640, 0.44, 0.08);
}

TEST(Bootstrap95, SeededAndEmptyInputs) {
  std::vector<double> v(50);
  for (size_t k = 0; k < v.size(); ++k) v[k] = static_cast<double>((k * k) % 17) + 0.1 * static_cast<double>(k);
  auto stat = [&](const std::vector<size_t>& s) { return mean_of(v, s); };
  const Interval a = bootstrap95(v.size(), stat), b = bootstrap95(v.size(), stat);
  EXPECT_EQ(a.lo, b.lo);
  EXPECT_EQ(a.hi, b.hi);
  const Interval other = bootstrap95(v.size(), stat, 1000, 99);
  EXPECT_TRUE(other.lo != a.lo || other.hi != a.hi);
  const Interval none = bootstrap95(0, stat);
  EXPECT_EQ(none.lo, 0.0);
  EXPECT_EQ(none.hi, 0.0);
}

TEST(Bootstrap95, OneItemPerGroupIsTheItemBootstrap) {
  std::vector<double> v(30);
  for (size_t k = 0; k < v.size(); ++k) v[k] = static_cast<double>((k * 7) % 11);
  std::vector<size_t> own(v.size());
  for (size_t k = 0; k < own.size(); ++k) own[k] = k;
  auto stat = [&](const std::vector<size_t>& s) { return mean_of(v, s); };
  const Interval items = bootstrap95(v.size(), stat), groups = bootstrap95(own, stat);
  EXPECT_EQ(items.lo, groups.lo);
  EXPECT_EQ(items.hi, groups.hi);
}

TEST(Bootstrap95, CorrelatedItemsResampledByGroupGiveAWiderInterval) {
  // 20 groups of 4 equal items (values 0..9 by group): drawn one by one the 80 items look like 80
  // independent ones; by group there are 20, so the interval is about sqrt(4) = 2 times wider.
  std::vector<double> v;
  std::vector<size_t> group_of;
  for (size_t g = 0; g < 20; ++g)
    for (int k = 0; k < 4; ++k) v.push_back(static_cast<double>(g % 10)), group_of.push_back(g);
  auto stat = [&](const std::vector<size_t>& s) { return mean_of(v, s); };
  const Interval items = bootstrap95(v.size(), stat), groups = bootstrap95(group_of, stat);
  EXPECT_LT(groups.lo, 4.5);
  EXPECT_GT(groups.hi, 4.5);
  const double ratio = (groups.hi - groups.lo) / (items.hi - items.lo);
  EXPECT_GT(ratio, 1.6);
  EXPECT_LT(ratio, 2.5);
  // Normal approximation for 20 groups: 2 x 1.96 x 2.87 / sqrt(20) = 2.52.
  EXPECT_NEAR(groups.hi - groups.lo, 2.52, 0.4);
  EXPECT_EQ(bootstrap95(std::vector<size_t>{}, stat).hi, 0.0);
}

}  // namespace
}  // namespace tt::eval
