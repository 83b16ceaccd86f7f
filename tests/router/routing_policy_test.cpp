// Routing policies: least loaded with round-robin ties, session affinity by user.
#include "router/routing_policy.hpp"

#include <gtest/gtest.h>

#include <map>
#include <vector>

namespace tt::router {
namespace {

std::vector<BackendView> views(std::vector<std::pair<uint32_t, bool>> loads) {
  std::vector<BackendView> v;
  for (size_t i = 0; i < loads.size(); ++i) v.push_back({i, loads[i].second, loads[i].first, 0});
  return v;
}

TEST(LeastLoaded, PicksTheLeastLoadedAvailableBackend) {
  LeastLoaded p;
  EXPECT_EQ(p.pick(views({{3, true}, {1, true}, {2, true}}), ""), 1u);
  EXPECT_EQ(p.pick(views({{3, true}, {1, false}, {2, true}}), ""), 2u);
  EXPECT_EQ(p.pick(views({{0, false}, {0, false}}), ""), std::nullopt);
  EXPECT_EQ(p.pick({}, ""), std::nullopt);
}

TEST(LeastLoaded, TheLoadIsTheLargerOfOurCountAndTheBackendsReport) {
  LeastLoaded p;
  std::vector<BackendView> v{{0, true, 1, 9}, {1, true, 2, 0}};
  EXPECT_EQ(p.pick(v, ""), 1u);  // backend 0 is busy with another router's work
}

TEST(LeastLoaded, TiesAreSharedRoundRobin) {
  LeastLoaded p;
  std::map<size_t, int> count;
  for (int i = 0; i < 30; ++i) count[*p.pick(views({{0, true}, {0, true}, {0, true}}), "")]++;
  EXPECT_EQ(count[0], 10);
  EXPECT_EQ(count[1], 10);
  EXPECT_EQ(count[2], 10);
}

TEST(SessionAffinity, OneUserStaysOnOneBackendWhileItIsAvailable) {
  SessionAffinity p;
  const auto first = *p.pick(views({{0, true}, {0, true}}), "alice");
  // Even when its home is now the busier one.
  auto v = views({{0, true}, {0, true}});
  v[first].in_flight = 5;
  EXPECT_EQ(p.pick(v, "alice"), first);
  // Another user goes least loaded.
  EXPECT_EQ(p.pick(v, "bob"), 1 - first);
  // Home unavailable: least loaded, and that becomes the new home.
  v[first].available = false;
  EXPECT_EQ(p.pick(v, "alice"), 1 - first);
  v[first].available = true;
  v[1 - first].in_flight = 9;
  EXPECT_EQ(p.pick(v, "alice"), 1 - first);
}

TEST(SessionAffinity, ForgetMovesUsersOfADeadBackend) {
  SessionAffinity p;
  auto v = views({{0, true}, {1, true}});
  ASSERT_EQ(p.pick(v, "carol"), 0u);
  p.forget(0);
  v[0].in_flight = 2;
  EXPECT_EQ(p.pick(v, "carol"), 1u);
}

TEST(SessionAffinity, NoUserMeansLeastLoaded) {
  SessionAffinity p;
  EXPECT_EQ(p.pick(views({{4, true}, {1, true}}), ""), 1u);
  EXPECT_EQ(p.pick(views({{1, true}, {4, true}}), ""), 0u);
}

TEST(SessionAffinity, MemoryIsBounded) {
  SessionAffinity p(2);
  auto v = views({{0, true}});
  for (const char* u : {"a", "b", "c", "d"}) EXPECT_EQ(p.pick(v, u), 0u);
}

TEST(MakePolicy, KnowsItsNames) {
  EXPECT_NE(make_policy("least-loaded"), nullptr);
  EXPECT_NE(make_policy("affinity"), nullptr);
  EXPECT_EQ(make_policy("random"), nullptr);
}

}  // namespace
}  // namespace tt::router
