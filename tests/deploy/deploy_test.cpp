// deploy/prometheus and deploy/grafana: promtool accepts the config and the
// rules and passes the alert unit tests; every query of the dashboard and the
// rules reads only metrics that exist (names.hpp) or recording rules.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "monitoring/names.hpp"
#include "promql_names.hpp"

namespace {

using tt::test::promql_metric_names;

const std::string kDeploy = std::string(TWOTOWER_TEST_SOURCE) + "/deploy";

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::pair<int, std::string> run(const std::string& command) {
  std::string out;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  char buf[4096];
  size_t n;
  while (p != nullptr && (n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int st = p != nullptr ? pclose(p) : -1;
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

bool have_promtool() { return std::system("command -v promtool > /dev/null 2>&1") == 0; }

// The values of `key: value` lines of a YAML file (rules files keep exprs on one line).
std::vector<std::string> yaml_values(const std::string& path, const std::string& key) {
  std::vector<std::string> out;
  std::istringstream in(read(path));
  for (std::string line; std::getline(in, line);) {
    const size_t k = line.find_first_not_of(" -");
    if (k == std::string::npos || line.compare(k, key.size() + 2, key + ": ") != 0) continue;
    out.push_back(line.substr(k + key.size() + 2));
  }
  return out;
}

std::set<std::string> recorded() {
  std::set<std::string> r;
  for (const auto& v : yaml_values(kDeploy + "/prometheus/rules/recording.yml", "record")) r.insert(v);
  return r;
}

// Every series name the runtime exports, plus Prometheus's own `up`.
std::set<std::string> exported() {
  std::set<std::string> s{"up"};
  for (const tt::mon::MetricSpec* m : tt::mon::names::all) {
    const std::string n(m->name);
    s.insert(n);
    if (m->type == tt::mon::MetricType::histogram)
      for (const char* suffix : {"_bucket", "_sum", "_count"}) s.insert(n + suffix);
  }
  return s;
}

void expect_known(const std::string& expr, const std::set<std::string>& known, const std::string& where) {
  const auto names = promql_metric_names(expr);
  EXPECT_FALSE(names.empty()) << where << " reads no metric: " << expr;
  for (const std::string& n : names) EXPECT_TRUE(known.count(n)) << where << " reads unknown metric " << n << ": " << expr;
}

TEST(PromqlNames, FindsMetricsAndSkipsEverythingElse) {
  EXPECT_EQ(promql_metric_names("histogram_quantile(0.95, sum by (le, instance) (rate(a_bucket{x=\"b c\"}[$__rate_interval])))"),
            (std::set<std::string>{"a_bucket"}));
  EXPECT_EQ(promql_metric_names("sum(x) / on (job) group_left(node) y:z or absent(w offset 5m) > 2 * 1e3"),
            (std::set<std::string>{"x", "y:z", "w"}));
  EXPECT_EQ(promql_metric_names("count((up{job=\"j\"} == 1) and on (job, instance) (r:c > 0))"),
            (std::set<std::string>{"up", "r:c"}));
}

TEST(Prometheus, PromtoolChecksTheConfigAndTheRules) {
  if (!have_promtool()) GTEST_SKIP() << "promtool not installed (scripts/setup.sh installs it)";
  const auto config = run("promtool check config '" + kDeploy + "/prometheus/prometheus.yml'");
  EXPECT_EQ(config.first, 0) << config.second;
  const auto rules = run("promtool check rules '" + kDeploy + "/prometheus/rules/recording.yml' '" + kDeploy +
                         "/prometheus/rules/alerts.yml'");
  EXPECT_EQ(rules.first, 0) << rules.second;
}

TEST(Prometheus, AlertUnitTestsPass) {
  if (!have_promtool()) GTEST_SKIP() << "promtool not installed (scripts/setup.sh installs it)";
  const auto r = run("cd '" + kDeploy + "/prometheus' && promtool test rules alerts_test.yml");
  EXPECT_EQ(r.first, 0) << r.second;
}

TEST(Prometheus, RulesReadOnlyExportedMetricsAndEarlierRules) {
  std::set<std::string> known = exported();
  const auto rec = yaml_values(kDeploy + "/prometheus/rules/recording.yml", "record");
  const auto exprs = yaml_values(kDeploy + "/prometheus/rules/recording.yml", "expr");
  ASSERT_EQ(rec.size(), exprs.size());
  ASSERT_GE(rec.size(), 20u);
  for (size_t i = 0; i < rec.size(); ++i) {
    expect_known(exprs[i], known, rec[i]);
    known.insert(rec[i]);  // later rules may read earlier ones
  }
  for (const char* vllm : {"vllm:time_to_first_token_seconds_bucket", "vllm:e2e_request_latency_seconds_bucket",
                           "vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:generation_tokens_total",
                           "vllm:prompt_tokens_total"})
    EXPECT_TRUE(known.count(vllm)) << vllm;
  const auto alerts = yaml_values(kDeploy + "/prometheus/rules/alerts.yml", "expr");
  ASSERT_EQ(alerts.size(), yaml_values(kDeploy + "/prometheus/rules/alerts.yml", "alert").size());
  for (const std::string& e : alerts) expect_known(e, known, "alert");
}

void collect_panels(const nlohmann::json& panels, std::vector<nlohmann::json>& out) {
  for (const auto& p : panels) {
    out.push_back(p);
    if (p.contains("panels")) collect_panels(p["panels"], out);
  }
}

TEST(Grafana, EveryPanelQueryReadsExistingMetrics) {
  const auto dash = nlohmann::json::parse(read(kDeploy + "/grafana/twotower.json"));
  std::vector<nlohmann::json> panels;
  collect_panels(dash.at("panels"), panels);
  std::set<std::string> known = exported();
  for (const auto& r : recorded()) known.insert(r);
  std::set<int> ids;
  size_t queries = 0;
  std::set<std::string> read_by_dashboard;
  for (const auto& p : panels) {
    EXPECT_TRUE(ids.insert(p.at("id").get<int>()).second) << "duplicate panel id " << p["id"];
    if (p.at("type") == "row") continue;
    const std::string title = p.at("title");
    ASSERT_TRUE(p.contains("targets") && !p["targets"].empty()) << title;
    for (const auto& t : p["targets"]) {
      ++queries;
      expect_known(t.at("expr").get<std::string>(), known, "panel \"" + title + "\"");
      for (const auto& n : promql_metric_names(t["expr"].get<std::string>())) read_by_dashboard.insert(n);
    }
  }
  EXPECT_GE(queries, 20u);
  // The sections the dashboard promises, by what they read.
  for (const char* m : {"twotower_context_generation_tokens_total", "twotower_context_time_to_first_token_seconds_bucket",
                        "twotower_denoiser_committed_tokens_per_forward_sum", "twotower_context_requests_running",
                        "twotower_context_cache_used_bytes", "twotower_cluster_peer_events_total"})
    EXPECT_TRUE(read_by_dashboard.count(m)) << m;
}

}  // namespace
