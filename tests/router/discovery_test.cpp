// Context actor discovery: the slot table (pure), the lookups (a file, DNS), and a
// real router that finds context actors in a file that changes, and by DNS name.
#include "router/discovery.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/router/router_fixture.hpp"

namespace tt::router {
namespace {

TEST(BackendSlots, FixedStayWantedDiscoveredComeAndGoAndSlotsAreReusedOnceDown) {
  BackendSlots slots({{"fixed", 1}}, 2);
  std::vector<bool> up(3, false);
  auto connected = [&](size_t i) { return static_cast<bool>(up[i]); };
  EXPECT_TRUE(slots.update({{"a", 7}, {"b", 7}}, connected).empty());
  EXPECT_TRUE(slots.wanted(0));
  EXPECT_EQ(slots.address(1), (Address{"a", 7}));
  EXPECT_EQ(slots.address(2), (Address{"b", 7}));
  up[1] = up[2] = true;
  // "a" is gone from the lookup: no longer wanted, but still connected, so its slot is
  // not given to "c", which finds no room.
  auto homeless = slots.update({{"b", 7}, {"c", 7}}, connected);
  EXPECT_FALSE(slots.wanted(1));
  EXPECT_TRUE(slots.wanted(2));
  ASSERT_EQ(homeless.size(), 1u);
  EXPECT_EQ(homeless[0], (Address{"c", 7}));
  // Once "a" is down its slot goes to "c"; "b" keeps its index.
  up[1] = false;
  EXPECT_TRUE(slots.update({{"b", 7}, {"c", 7}}, connected).empty());
  EXPECT_EQ(slots.address(1), (Address{"c", 7}));
  EXPECT_EQ(slots.address(2), (Address{"b", 7}));
  EXPECT_TRUE(slots.wanted(0));  // the fixed one, whatever the lookups say
}

TEST(BackendSlots, AFailureIsReportedOncePerAddressAndAgainAfterAConnection) {
  BackendSlots slots({{"fixed", 1}}, 1);
  auto down = [](size_t) { return false; };
  EXPECT_TRUE(slots.first_failure(0));
  EXPECT_FALSE(slots.first_failure(0));
  slots.connected(0);
  EXPECT_TRUE(slots.first_failure(0));
  slots.update({{"a", 7}}, down);
  EXPECT_TRUE(slots.first_failure(1));
  EXPECT_FALSE(slots.first_failure(1));
  slots.update({{"b", 7}}, down);  // "a" gone and down: its slot goes to "b", a new address
  EXPECT_EQ(slots.address(1), (Address{"b", 7}));
  EXPECT_TRUE(slots.first_failure(1));
}

TEST(Discovery, AFileListsContextsAndBadLinesAreReportedNotFatal) {
  const std::string path = testing::TempDir() + "/contexts.txt";
  std::ofstream(path) << "# cells\n127.0.0.1:7000\n\n  10.0.0.2:7001  \nnot-an-address\n";
  std::vector<std::string> problems;
  const auto found = discover({{}, path}, problems);
  EXPECT_EQ(found, (std::set<Address>{{"127.0.0.1", 7000}, {"10.0.0.2", 7001}}));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find(":5:"), std::string::npos) << problems[0];
  problems.clear();
  discover({{}, path + ".missing"}, problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("cannot read"), std::string::npos);
}

TEST(Discovery, DnsNamesResolveToEveryAddress) {
  const auto hosts = resolve_host("localhost");
  EXPECT_NE(std::find(hosts.begin(), hosts.end(), "127.0.0.1"), hosts.end());
  std::vector<std::string> problems;
  const auto found = discover({{{"localhost", 7000}, {"no-such-host.invalid", 7000}}, ""}, problems);
  EXPECT_EQ(found.count({"127.0.0.1", 7000}), 1u);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("no-such-host.invalid"), std::string::npos);
}

}  // namespace
}  // namespace tt::router

namespace tt::test {
namespace {

using json = nlohmann::json;

bool completes(uint16_t port) {
  const json body{{"model", "default"}, {"prompt", "In the beginning"}, {"max_tokens", 8}};
  const auto r = HttpClient(port).post("/v1/completions", body.dump());
  return r.status == 200 && json::parse(r.body)["usage"]["completion_tokens"] == 8;
}

TEST_F(RouterTest, ARouterFollowsTheContextsFileAsCellsComeAndGo) {
  start_context();
  start_context();
  const std::string file = path("contexts.txt");
  std::ofstream(file) << "# written by the test\n" << contexts_[0] << "\n";
  start_router_on({"--contexts-file", file}, {"--discovery-interval-ms", "200"});
  ASSERT_TRUE(wait_for_text(path("router.err"), "connected to context", 1, std::chrono::seconds(30)))
      << read_file(path("router.err"));
  EXPECT_TRUE(completes(port_));
  // A second cell appears in the file: the router connects to it without a restart.
  std::ofstream(file) << contexts_[0] << "\n" << contexts_[1] << "\n";
  ASSERT_TRUE(wait_for_text(path("router.err"), "connected to context", 2, std::chrono::seconds(30)))
      << read_file(path("router.err"));
  EXPECT_NE(read_file(path("router.err")).find("at " + contexts_[1]), std::string::npos);
  // The first cell dies and leaves the file: requests go to the second.
  kill_context(0);
  std::ofstream(file) << contexts_[1] << "\n";
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(completes(port_)) << "request " << i;
}

TEST_F(RouterTest, ARouterFindsContextsByDnsName) {
  start_context();
  const std::string port = contexts_[0].substr(contexts_[0].rfind(':') + 1);
  start_router_on({"--context-dns", "localhost:" + port}, {"--discovery-interval-ms", "200"});
  EXPECT_NE(read_file(path("router.err")).find("at 127.0.0.1:" + port), std::string::npos);
  EXPECT_TRUE(completes(port_));
}

}  // namespace
}  // namespace tt::test
