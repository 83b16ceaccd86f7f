// The /metrics HTTP server, over real sockets: what it serves, keep-alive, and
// that no malformed, oversized, abandoned or excess connection takes it down.
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../support/http_client.hpp"
#include "monitoring/exposition.hpp"
#include "monitoring/http_server.hpp"
#include "monitoring/metrics.hpp"
#include "monitoring/registry.hpp"

namespace {

using namespace tt::mon;
using tt::test::Connection;
using tt::test::http_get;
using namespace std::chrono_literals;

class MetricsServerTest : public ::testing::Test {
protected:
  void start(MetricsServerLimits limits = {}) {
    server_ = std::make_unique<MetricsServer>(registry_, "127.0.0.1", 0, limits);
    port_ = server_->port();
    ASSERT_NE(port_, 0);
  }
  // The server still answers a plain scrape.
  void expect_alive() {
    const auto r = http_get(port_, "/metrics");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, render(registry_));
  }
  Registry registry_;
  Metrics metrics_{registry_};
  std::unique_ptr<MetricsServer> server_;
  uint16_t port_ = 0;
};

TEST_F(MetricsServerTest, ServesTheExpositionAtMetrics) {
  start();
  metrics_.context_generation_tokens.inc(7);
  const auto r = http_get(port_, "/metrics");
  ASSERT_EQ(r.status, 200) << r.headers;
  EXPECT_EQ(tt::test::header(r, "Content-Type").rfind("text/plain; version=0.0.4", 0), 0u) << r.headers;
  EXPECT_EQ(r.body, render(registry_));
  EXPECT_NE(r.body.find("twotower_context_generation_tokens_total 7\n"), std::string::npos);
  EXPECT_EQ(http_get(port_, "/metrics?x=1").status, 200) << "a query string is ignored";
  EXPECT_EQ(server_->address(), "127.0.0.1:" + std::to_string(port_));
}

TEST_F(MetricsServerTest, OtherPathsAre404AndOtherMethods405) {
  start();
  EXPECT_EQ(http_get(port_, "/").status, 404);
  EXPECT_EQ(http_get(port_, "/metricsx").status, 404);
  EXPECT_EQ(http_get(port_, "/metrics/").status, 404);
  const auto post = http_get(port_, "/metrics", "POST");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(tt::test::header(post, "Allow"), "GET, HEAD");
  const auto head = http_get(port_, "/metrics", "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(tt::test::header(head, "Content-Length"), std::to_string(render(registry_).size()));
}

TEST_F(MetricsServerTest, KeepAliveServesPipelinedRequestsOnOneConnection) {
  start();
  Connection c(port_);
  ASSERT_TRUE(c.ok());
  const std::string get = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_TRUE(c.send(get + get + "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string raw = c.read_until([](const std::string& s) { return s.find("not found") != std::string::npos; }, 10s);
  std::vector<int> statuses;
  size_t used = 0;
  for (auto r = tt::test::parse_response(raw, &used); r.status != 0; r = tt::test::parse_response(raw, &used)) {
    statuses.push_back(r.status);
    raw.erase(0, used);
  }
  EXPECT_EQ(statuses, (std::vector<int>{200, 200, 404}));
  // Still open after all three: one more on the same connection.
  ASSERT_TRUE(c.send(get));
  const auto again = c.read_until([](const std::string& s) { return tt::test::parse_response(s).status != 0 &&
                                                                      s.find("# TYPE") != std::string::npos; },
                                  10s);
  EXPECT_EQ(tt::test::parse_response(again).status, 200);
}

TEST_F(MetricsServerTest, MalformedRequestsGet400AndTheServerLivesOn) {
  start();
  const std::vector<std::string> garbage = {
      "\r\n\r\n",
      "GET\r\n\r\n",
      "GET /metrics\r\n\r\n",
      "GE T /metrics HTTP/1.1\r\n\r\n",
      "GET /metrics HTTP/1.1\r\nNo colon here\r\n\r\n",
      "GET /metrics HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
      "GET /metrics HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
      "GET /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      std::string("GET /metrics HTTP/1.1\r\nHost: \0\x01\xff\r\n\r\n", 36),
      std::string(5000, '\0'),
  };
  for (const std::string& g : garbage) {
    SCOPED_TRACE(testing::PrintToString(g.substr(0, 40)));
    Connection c(port_);
    ASSERT_TRUE(c.ok());
    c.send(g);
    bool closed = false;
    const std::string raw = c.read_all(10s, &closed);
    EXPECT_TRUE(closed) << "the connection is closed after a bad request";
    EXPECT_EQ(tt::test::parse_response(raw).status, 400) << raw;
  }
  std::mt19937 rng(42);
  for (int i = 0; i < 50; ++i) {  // random bytes: any 4xx or a plain close, never a crash
    std::string g(1 + rng() % 3000, '\0');
    for (char& ch : g) ch = static_cast<char>(rng());
    Connection c(port_);
    c.send(g);
    c.close();
  }
  expect_alive();
}

TEST_F(MetricsServerTest, OversizedHeadersAndBodiesAreRefused) {
  start();
  {
    Connection c(port_);
    c.send("GET /metrics HTTP/1.1\r\nX-Big: " + std::string(100000, 'a') + "\r\n\r\n");
    EXPECT_EQ(tt::test::parse_response(c.read_all(10s)).status, 431);
  }
  {
    Connection c(port_);
    c.send("GET /metrics HTTP/1.1\r\nContent-Length: 1000000\r\n\r\n" + std::string(100000, 'b'));
    EXPECT_EQ(tt::test::parse_response(c.read_all(10s)).status, 413);
  }
  expect_alive();
}

TEST_F(MetricsServerTest, IdleAndExcessConnectionsAreClosed) {
  MetricsServerLimits limits;
  limits.max_connections = 4;
  limits.idle_timeout_seconds = 1;
  start(limits);
  std::vector<std::unique_ptr<Connection>> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<Connection>(port_));
    held.back()->send("GET /metrics HTTP/1.1\r\n");  // half a request, then silence
  }
  std::this_thread::sleep_for(200ms);  // let the server accept all four
  {
    Connection extra(port_);
    bool closed = false;
    extra.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    const std::string raw = extra.read_all(5s, &closed);
    EXPECT_TRUE(closed && raw.empty()) << "the fifth connection is closed unanswered: " << raw;
  }
  for (auto& c : held) {  // the idle timeout closes the silent ones
    bool closed = false;
    c->read_all(5s, &closed);
    EXPECT_TRUE(closed);
  }
  expect_alive();
}

TEST_F(MetricsServerTest, AnAddressInUseIsAClearError) {
  start();
  try {
    MetricsServer second(registry_, "127.0.0.1", port_);
    FAIL() << "bound twice";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("cannot serve metrics on 127.0.0.1:" + std::to_string(port_) + ": ", 0), 0u)
        << e.what();
  }
  EXPECT_THROW(MetricsServer(registry_, "no-such-host.invalid", 0), std::runtime_error);
}

TEST(MetricsReply, IsPure) {
  Registry r;
  Metrics m(r);
  EXPECT_EQ(metrics_reply(r, "GET", "/metrics").body, render(r));
  EXPECT_EQ(metrics_reply(r, "GET", "/metrics").content_type, exposition_content_type);
  EXPECT_EQ(metrics_reply(r, "HEAD", "/metrics").body, "");
  EXPECT_EQ(metrics_reply(r, "HEAD", "/metrics").content_length, render(r).size());
  EXPECT_EQ(metrics_reply(r, "DELETE", "/metrics").status, 405u);
  EXPECT_EQ(metrics_reply(r, "GET", "").status, 404u);
  const auto only_denoiser = [](std::string_view f) { return f.starts_with("twotower_denoiser_"); };
  const std::string some = metrics_reply(r, "GET", "/metrics", only_denoiser).body;
  EXPECT_NE(some.find("# TYPE twotower_denoiser_steps_per_block histogram\n"), std::string::npos);
  EXPECT_EQ(some.find("twotower_router_"), std::string::npos);
  EXPECT_EQ(some.find("twotower_context_"), std::string::npos);
}

}  // namespace
