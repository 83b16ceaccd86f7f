// Prometheus text exposition: exact output for a small registry, escaping,
// number formatting, and promtool's verdict on the runtime's full metric set.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>

#include "monitoring/exposition.hpp"
#include "monitoring/metrics.hpp"
#include "monitoring/names.hpp"
#include "monitoring/number_format.hpp"
#include "tests/support/safetensors_writer.hpp"

namespace {

using namespace tt::mon;

TEST(Exposition, SmallRegistryGolden) {
  Registry r;
  // Registered out of order: the output is sorted by name.
  auto& requests = r.counter("t_requests_total", "Requests, by outcome.", {"outcome"});
  requests.with({"outcome", "we\"ird\\path\nx"}).inc();
  requests.with({"outcome", "ok"}).inc(3);
  r.gauge("t_cache_used_bytes", "Bytes in use.\nSecond line, with a \\ backslash and \"quotes\".").with().set(1.5e9);
  r.counter("t_unused_total", "Never recorded; no label set yet, so not exported.", {"reason"});
  auto& batch = r.histogram("t_batch_size", "Sequences per forward.", {1, 2, 4}, {"tower"});
  batch.with({"tower", "denoiser"});
  for (double v : {0.5, 3.0, 3.0, 10.5}) batch.with({"tower", "context"}).observe(v);
  r.counter("a_first_total", "First.");

  EXPECT_EQ(render(r),
            "# HELP a_first_total First.\n"
            "# TYPE a_first_total counter\n"
            "a_first_total 0\n"
            "# HELP t_batch_size Sequences per forward.\n"
            "# TYPE t_batch_size histogram\n"
            "t_batch_size_bucket{tower=\"context\",le=\"1\"} 1\n"
            "t_batch_size_bucket{tower=\"context\",le=\"2\"} 1\n"
            "t_batch_size_bucket{tower=\"context\",le=\"4\"} 3\n"
            "t_batch_size_bucket{tower=\"context\",le=\"+Inf\"} 4\n"
            "t_batch_size_sum{tower=\"context\"} 17\n"
            "t_batch_size_count{tower=\"context\"} 4\n"
            "t_batch_size_bucket{tower=\"denoiser\",le=\"1\"} 0\n"
            "t_batch_size_bucket{tower=\"denoiser\",le=\"2\"} 0\n"
            "t_batch_size_bucket{tower=\"denoiser\",le=\"4\"} 0\n"
            "t_batch_size_bucket{tower=\"denoiser\",le=\"+Inf\"} 0\n"
            "t_batch_size_sum{tower=\"denoiser\"} 0\n"
            "t_batch_size_count{tower=\"denoiser\"} 0\n"
            "# HELP t_cache_used_bytes Bytes in use.\\nSecond line, with a \\\\ backslash and \"quotes\".\n"
            "# TYPE t_cache_used_bytes gauge\n"
            "t_cache_used_bytes 1500000000\n"
            "# HELP t_requests_total Requests, by outcome.\n"
            "# TYPE t_requests_total counter\n"
            "t_requests_total{outcome=\"ok\"} 3\n"
            "t_requests_total{outcome=\"we\\\"ird\\\\path\\nx\"} 1\n");
}

TEST(Exposition, UnlabelledHistogramHasOnlyLe) {
  Registry r;
  Histogram& h = r.histogram("t_wait_seconds", "Wait.", {0.005, 0.25}).with();
  h.observe(0.125);
  h.observe(0.0625);
  EXPECT_EQ(render(r),
            "# HELP t_wait_seconds Wait.\n"
            "# TYPE t_wait_seconds histogram\n"
            "t_wait_seconds_bucket{le=\"0.005\"} 0\n"
            "t_wait_seconds_bucket{le=\"0.25\"} 2\n"
            "t_wait_seconds_bucket{le=\"+Inf\"} 2\n"
            "t_wait_seconds_sum 0.1875\n"
            "t_wait_seconds_count 2\n");
}

TEST(Exposition, Escaping) {
  EXPECT_EQ(escape_help("a\\b\nc\"d"), "a\\\\b\\nc\"d");  // quotes stay as they are in help
  EXPECT_EQ(escape_label_value("a\\b\nc\"d"), "a\\\\b\\nc\\\"d");
  EXPECT_EQ(escape_label_value("caf\xc3\xa9"), "caf\xc3\xa9");  // UTF-8 passes through
}

TEST(Exposition, NumberFormatting) {
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(format_number(0.0), "0");
  EXPECT_EQ(format_number(-0.0), "0");
  EXPECT_EQ(format_number(1), "1");
  EXPECT_EQ(format_number(-7), "-7");
  EXPECT_EQ(format_number(2e6), "2000000");
  EXPECT_EQ(format_number(1.5e9), "1500000000");
  EXPECT_EQ(format_number(9007199254740991.0), "9007199254740991");
  EXPECT_EQ(format_number(0.005), "0.005");
  EXPECT_EQ(format_number(0.1 + 0.2), "0.30000000000000004");  // exact round trip
  EXPECT_EQ(format_number(1e-5), "1e-05");
  EXPECT_EQ(format_number(1e300), "1e+300");
  EXPECT_EQ(format_number(inf), "+Inf");
  EXPECT_EQ(format_number(-inf), "-Inf");
  EXPECT_EQ(format_number(std::numeric_limits<double>::quiet_NaN()), "NaN");
}

TEST(Exposition, ContentType) { EXPECT_EQ(exposition_content_type, "text/plain; version=0.0.4; charset=utf-8"); }

// --- promtool --------------------------------------------------------------------

struct Checked {
  int status = -1;
  std::string output;
};

// `promtool check metrics` on `text` (it reads stdin); status is promtool's exit status.
Checked promtool_check(const std::string& text, const std::string& name) {
  const auto dir = tt::test::temp_dir("promtool-" + name);
  const auto file = dir / "metrics.prom";
  tt::test::write_file(file, text);
  Checked c;
  FILE* p = popen(("promtool check metrics < '" + file.string() + "' 2>&1").c_str(), "r");
  if (p == nullptr) return c;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) c.output.append(buf, n);
  const int st = pclose(p);
  c.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return c;
}

bool have_promtool() { return std::system("command -v promtool > /dev/null 2>&1") == 0; }

TEST(Promtool, FullMetricSetIsCleanWithObservations) {
  if (!have_promtool()) GTEST_SKIP() << "promtool not installed (apt-get install prometheus)";
  Registry r;
  Metrics m(r);
  m.requests.with({"outcome", names::outcome::ok}).inc(10);
  m.rejections.with({"reason", names::reason::queue_full}).inc();
  m.time_to_first_token.observe(0.042);
  m.inter_token_latency.observe(0.003);
  m.request_duration.observe(1.25);
  m.prompt_tokens.inc(512);
  m.generation_tokens.inc(160);
  m.migrations.inc();
  m.queue_time.observe(0.0004);
  m.requests_running.set(3);
  m.requests_waiting.set(1);
  m.cache_used_bytes.set(123456789);
  m.cache_capacity_bytes.set(8.0 * (1ull << 30));
  m.block_latency.observe(0.02);
  m.steps_per_block.observe(7);
  m.tokens_per_forward.observe(16);
  m.forward_batch_size.with({"tower", names::tower::denoiser}).observe(24);
  m.handle_transfer_bytes.with({"transport", names::transport::shared_memory}).inc(1 << 20);
  m.handle_transfer_duration.with({"transport", names::transport::shared_memory}).observe(0.00007);
  m.peer_events.with({{"role", names::role::denoiser}, {"event", names::event::down}}).inc();

  const std::string text = render(r);
  const Checked c = promtool_check(text, "full");
  std::printf("promtool check metrics: exit %d, %zu bytes of exposition, output: \"%s\"\n", c.status, text.size(),
              c.output.c_str());
  EXPECT_EQ(c.status, 0) << c.output;
  EXPECT_EQ(c.output, "");  // promtool prints one line per lint problem
}

TEST(Promtool, WouldCatchALintProblem) {
  if (!have_promtool()) GTEST_SKIP() << "promtool not installed (apt-get install prometheus)";
  // Hand-written, since the registry refuses such a name: the check above is
  // only meaningful if promtool does complain about this.
  const Checked c = promtool_check("# HELP t_requests Requests.\n# TYPE t_requests counter\nt_requests 1\n", "bad");
  EXPECT_NE(c.status, 0);
  EXPECT_NE(c.output.find("_total"), std::string::npos) << c.output;
}

}  // namespace
