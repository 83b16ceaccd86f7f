// A real Prometheus server on loopback scrapes a real context actor and
// denoiser (started with --metrics) with the repository's rules loaded; after
// one generation its query API reports generated tokens, the vLLM-named
// recording rules and a ready context actor, and every rule evaluates cleanly.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <spawn.h>

#include <fstream>

#include "metrics_fixture.hpp"

namespace {

using namespace tt::test;
using namespace std::chrono_literals;

// A free TCP port on loopback (bound, read, released).
uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

std::string url_encode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '_' || c == '-' || c == '.') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// GET over HTTP/1.0, so Go's server closes the connection instead of chunking the body.
nlohmann::json api_get(uint16_t port, const std::string& target) {
  Connection c(port);
  if (!c.ok() || !c.send("GET " + target + " HTTP/1.0\r\nHost: localhost\r\n\r\n")) return {};
  const std::string raw = c.read_all(10s);
  const size_t body = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || body == std::string::npos) return {};
  return nlohmann::json::parse(raw.substr(body + 4), nullptr, false);
}

// The value of an instant query's first sample; nullopt when there is none.
std::optional<double> query(uint16_t port, const std::string& promql) {
  const auto j = api_get(port, "/api/v1/query?query=" + url_encode(promql));
  if (j.is_discarded() || !j.contains("data") || j["data"]["result"].empty()) return std::nullopt;
  return std::stod(j["data"]["result"][0]["value"][1].get<std::string>());
}

class PrometheusTest : public MetricsClusterTest {
protected:
  void TearDown() override {
    if (prometheus_ > 0) {
      ::kill(prometheus_, SIGKILL);
      waitpid(prometheus_, nullptr, 0);
    }
    MetricsClusterTest::TearDown();
  }
  void start_prometheus() {
    const std::string rules = std::string(TWOTOWER_TEST_SOURCE) + "/deploy/prometheus/rules/";
    std::ofstream(path("prometheus.yml"))
        << "global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}\n"
        << "rule_files: ['" << rules << "recording.yml', '" << rules << "alerts.yml']\n"
        << "scrape_configs:\n"
        << "  - job_name: twotower-context\n"
        << "    static_configs: [{targets: ['127.0.0.1:" << context_metrics_ << "']}]\n"
        << "  - job_name: twotower-denoiser\n"
        << "    static_configs: [{targets: ['127.0.0.1:" << denoiser_metrics_ << "']}]\n";
    port_ = free_port();
    std::vector<std::string> args{"prometheus", "--config.file=" + path("prometheus.yml"),
                                  "--storage.tsdb.path=" + path("data"),
                                  "--web.listen-address=127.0.0.1:" + std::to_string(port_), "--log.level=warn"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, path("prometheus.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    ASSERT_EQ(posix_spawnp(&prometheus_, "prometheus", &fa, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    const auto until = std::chrono::steady_clock::now() + 20s;
    while (http_get(port_, "/-/ready", "GET", 2s).status != 200) {
      ASSERT_LT(std::chrono::steady_clock::now(), until) << read_file(path("prometheus.log"));
      std::this_thread::sleep_for(100ms);
    }
  }
  // Polls `ok` until it holds; false after `limit`.
  template <class Ok>
  bool eventually(Ok ok, std::chrono::seconds limit = 20s) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!ok()) {
      if (std::chrono::steady_clock::now() > until) return false;
      std::this_thread::sleep_for(200ms);
    }
    return true;
  }

  pid_t prometheus_ = -1;
  uint16_t port_ = 0;
};

TEST_F(PrometheusTest, ScrapesTheClusterAndEvaluatesTheRules) {
  if (!have_program("prometheus")) GTEST_SKIP() << "prometheus not installed (scripts/setup.sh installs it)";
  const auto start = std::chrono::steady_clock::now();
  ASSERT_NO_FATAL_FAILURE(start_with_metrics());
  ASSERT_NO_FATAL_FAILURE(start_prometheus());
  // Both targets scraped once before the request, so rates see the counters rise.
  ASSERT_TRUE(eventually([&] { return query(port_, "sum(up)") == 2.0; })) << read_file(path("prometheus.log"));
  const auto out = generate({"--prompt", "Once upon a time", "--max-tokens", "32"}, address_);
  ASSERT_FALSE(out.is_null());
  const double generated = out["generated_tokens"];
  ASSERT_GT(generated, 0);

  EXPECT_TRUE(eventually([&] { return query(port_, "sum(twotower_context_generation_tokens_total)") == generated; }))
      << query(port_, "sum(twotower_context_generation_tokens_total)").value_or(-1);
  EXPECT_TRUE(eventually([&] { return query(port_, "sum(vllm:generation_tokens_total)") == generated; }))
      << "recording rule: " << query(port_, "sum(vllm:generation_tokens_total)").value_or(-1);
  EXPECT_TRUE(eventually([&] { return query(port_, "sum(vllm:time_to_first_token_seconds_count)") == 1.0; }));
  EXPECT_TRUE(eventually([&] { return query(port_, "twotower:context_ready:count") == 1.0; }));
  EXPECT_EQ(query(port_, "up{job=\"twotower-denoiser\"}"), 1.0);
  // Pending while nothing was scraped yet; resolved once the context actor is ready.
  EXPECT_TRUE(eventually([&] { return !query(port_, "ALERTS{alertname=\"TwotowerNoReadyContextActor\"}"); }));

  // Every rule has been evaluated and none failed (a bad join would show here).
  std::string unhealthy;
  EXPECT_TRUE(eventually([&] {
    const auto j = api_get(port_, "/api/v1/rules");
    if (j.is_discarded() || !j.contains("data")) return false;
    unhealthy.clear();
    for (const auto& g : j["data"]["groups"])
      for (const auto& r : g["rules"])
        if (r["health"] != "ok") unhealthy += r["name"].get<std::string>() + " (" + r["health"].get<std::string>() +
                                               " " + r.value("lastError", "") + ") ";
    return unhealthy.empty();
  })) << unhealthy;

  // Every dashboard query is valid PromQL to this Prometheus (Grafana's $__rate_interval as 1m),
  // and the core panels have data after one generation.
  std::ifstream dash_file(std::string(TWOTOWER_TEST_SOURCE) + "/deploy/grafana/twotower.json");
  const auto dash = nlohmann::json::parse(dash_file);
  size_t checked = 0;
  for (const auto& panel : dash.at("panels")) {
    if (!panel.contains("targets")) continue;
    for (const auto& t : panel["targets"]) {
      std::string expr = t.at("expr");
      for (size_t p = expr.find("$__rate_interval"); p != std::string::npos; p = expr.find("$__rate_interval"))
        expr.replace(p, 16, "1m");
      const auto j = api_get(port_, "/api/v1/query?query=" + url_encode(expr));
      EXPECT_TRUE(!j.is_discarded() && j.value("status", "") == "success")
          << panel["title"] << ": " << expr << " -> " << (j.is_discarded() ? "no answer" : j.dump());
      ++checked;
    }
  }
  EXPECT_GE(checked, 20u);
  // The two targets are scraped at their own times: wait for the denoiser's post-generation scrape.
  EXPECT_TRUE(eventually(
      [&] { return query(port_, "sum(rate(twotower_context_generation_tokens_total[1m]))").value_or(0) > 0.0; }));
  EXPECT_TRUE(eventually([&] {
    return query(port_, "sum(rate(twotower_denoiser_committed_tokens_per_forward_sum[1m])) / "
                        "sum(rate(twotower_denoiser_committed_tokens_per_forward_count[1m]))")
               .value_or(0) > 0.0;
  }));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 60s);
}

}  // namespace
