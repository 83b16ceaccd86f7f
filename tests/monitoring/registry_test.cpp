// Metrics registry: recording, label sets, name validation, thread safety.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "monitoring/registry.hpp"
#include "monitoring/validation.hpp"

namespace {

using namespace tt::mon;

// The MetricError message of `f`, or "" when it did not throw.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const MetricError& e) {
    return e.what();
  }
  return {};
}

TEST(Counter, CountsWholeAndFractionalAmounts) {
  Registry r;
  Counter& c = r.counter("t_events_total", "Events.").with();
  EXPECT_EQ(c.value(), 0.0);
  c.inc();
  c.inc(41);
  c.add(0.5);
  EXPECT_EQ(c.value(), 42.5);
  c.add(-3.0);  // a counter never goes down
  c.add(std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(c.value(), 42.5);
}

TEST(Gauge, SetsAndMovesBothWays) {
  Registry r;
  Gauge& g = r.gauge("t_queue_length", "Queue length.").with();
  g.set(10);
  g.inc();
  g.dec(3.5);
  EXPECT_EQ(g.value(), 7.5);
  g.set(-2);
  EXPECT_EQ(g.value(), -2.0);
}

TEST(Histogram, BucketsAreInclusiveUpperBoundsAndCumulative) {
  Registry r;
  Histogram& h = r.histogram("t_latency_seconds", "Latency.", {1, 2, 5}).with();
  for (double v : {0.5, 1.0, 1.5, 5.0, 7.0, -1.0}) h.observe(v);
  const auto s = h.snapshot();
  EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{3, 4, 5, 6}));  // le=1 holds 0.5, 1 and -1
  EXPECT_EQ(s.sum, 14.0);
}

TEST(Histogram, NanLandsInInfBucket) {
  Registry r;
  Histogram& h = r.histogram("t_size_bytes", "Size.", {10}).with();
  h.observe(std::numeric_limits<double>::quiet_NaN());
  const auto s = h.snapshot();
  EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{0, 1}));
  EXPECT_TRUE(std::isnan(s.sum));
}

TEST(Histogram, TrailingInfBoundIsImplicit) {
  Registry r;
  auto& f = r.histogram("t_wait_seconds", "Wait.", {0.1, std::numeric_limits<double>::infinity()});
  EXPECT_EQ(f.bounds(), (std::vector<double>{0.1}));
  EXPECT_EQ(f.with().snapshot().cumulative.size(), 2u);
}

TEST(Family, WithReturnsOneStableChildPerLabelSet) {
  Registry r;
  auto& requests = r.counter("t_requests_total", "Requests.", {"outcome"});
  Counter& ok = requests.with({"outcome", "ok"});
  Counter& err = requests.with({"outcome", "error"});
  EXPECT_NE(&ok, &err);
  for (int i = 0; i < 100; ++i) requests.with({"outcome", std::to_string(i)});  // the map grows
  EXPECT_EQ(&requests.with({"outcome", "ok"}), &ok);
  EXPECT_EQ(&requests.with({{"outcome", "ok"}}), &ok);

  auto& events = r.counter("t_peer_events_total", "Peer events.", {"role", "event"});
  Counter& a = events.with({{"role", "denoiser"}, {"event", "down"}});
  EXPECT_EQ(&events.with({{"event", "down"}, {"role", "denoiser"}}), &a);  // order of labels does not matter
  EXPECT_NE(&events.with({{"role", "denoiser"}, {"event", "up"}}), &a);
}

TEST(Family, WrongLabelsAreClearErrors) {
  Registry r;
  auto& events = r.counter("t_peer_events_total", "Peer events.", {"role", "event"});
  EXPECT_EQ(error_of([&] { events.with({"role", "context"}); }),
            "metric \"t_peer_events_total\" (labels {role, event}): no value for label \"event\"");
  EXPECT_EQ(error_of([&] { events.with({{"role", "a"}, {"evnt", "up"}}); }),
            "metric \"t_peer_events_total\" (labels {role, event}): unknown label \"evnt\"");
  EXPECT_EQ(error_of([&] { events.with({{"role", "a"}, {"role", "b"}}); }),
            "metric \"t_peer_events_total\" (labels {role, event}): label \"role\" given twice");
  EXPECT_EQ(error_of([&] { events.with(); }),
            "metric \"t_peer_events_total\" has labels {role, event}; give their values to with()");
  EXPECT_EQ(error_of([&] { events.with({{"role", "a"}, {"event", "\xff"}}); }),
            "metric \"t_peer_events_total\" (labels {role, event}): label \"event\": label value is not valid UTF-8 "
            "(bad lead byte at offset 0)");
  auto& plain = r.gauge("t_level", "Level.");
  EXPECT_EQ(error_of([&] { plain.with({"role", "x"}); }), "metric \"t_level\" (labels {}): unknown label \"role\"");
}

TEST(Registry, RejectsBadMetricNames) {
  Registry r;
  const auto counter = [&](const char* name) { return error_of([&] { r.counter(name, "Help."); }); };
  const auto gauge = [&](const char* name) { return error_of([&] { r.gauge(name, "Help."); }); };
  EXPECT_EQ(counter("t_requests"), "cannot register metric \"t_requests\": metric name \"t_requests\" is a counter "
                                   "and must end in \"_total\"");
  EXPECT_EQ(gauge("t_requests_total"), "cannot register metric \"t_requests_total\": metric name \"t_requests_total\" "
                                       "ends in \"_total\", which is only for counters (this is a gauge)");
  EXPECT_EQ(gauge("t_Requests"), "cannot register metric \"t_Requests\": metric name \"t_Requests\" must be snake_case "
                                 "(no capital letters)");
  EXPECT_EQ(gauge("t:requests"), "cannot register metric \"t:requests\": metric name \"t:requests\" must not contain "
                                 "':' (reserved for recording rules)");
  EXPECT_EQ(gauge("9lives"), "cannot register metric \"9lives\": metric name \"9lives\" must not start with a digit");
  EXPECT_EQ(gauge("t-x"), "cannot register metric \"t-x\": metric name \"t-x\" has a character outside [a-z0-9_] at "
                          "offset 1");
  EXPECT_EQ(gauge(""), "cannot register metric \"\": metric name is empty");
  EXPECT_EQ(gauge("t_latency_count"), "cannot register metric \"t_latency_count\": metric name \"t_latency_count\" "
                                      "ends in \"_count\", which is reserved for histogram series");
  EXPECT_NE(gauge("t_x_bucket").find("reserved for histogram series"), std::string::npos);
  EXPECT_NE(error_of([&] { r.histogram("t_x_sum", "Help.", {1}); }).find("reserved for histogram series"),
            std::string::npos);
  EXPECT_EQ(error_of([&] { r.gauge("t_x", ""); }), "cannot register metric \"t_x\": help text is empty");
  EXPECT_TRUE(r.snapshot().empty());  // nothing half-registered
}

TEST(Registry, RejectsBadLabelNames) {
  Registry r;
  const auto labels = [&](std::vector<std::string> names) {
    return error_of([&] { r.histogram("t_x_seconds", "Help.", {1}, names); });
  };
  EXPECT_EQ(labels({"le"}), "cannot register metric \"t_x_seconds\": label name \"le\" is reserved for histogram "
                            "bucket bounds");
  EXPECT_EQ(labels({"quantile"}), "cannot register metric \"t_x_seconds\": label name \"quantile\" is reserved for "
                                  "summary quantiles");
  EXPECT_EQ(labels({"__name"}), "cannot register metric \"t_x_seconds\": label name \"__name\" starts with \"__\", "
                                "which is reserved for Prometheus");
  EXPECT_EQ(labels({"Tower"}), "cannot register metric \"t_x_seconds\": label name \"Tower\" must be snake_case (no "
                               "capital letters)");
  EXPECT_EQ(labels({"a", "b", "a"}), "cannot register metric \"t_x_seconds\": label name \"a\" is listed twice");
  EXPECT_EQ(labels({""}), "cannot register metric \"t_x_seconds\": label name is empty");
  EXPECT_NE(error_of([&] { r.counter("t_x_total", "Help.", {"le"}); }).find("reserved"), std::string::npos);
}

TEST(Registry, RejectsBadBuckets) {
  Registry r;
  const double inf = std::numeric_limits<double>::infinity();
  const auto buckets = [&](std::vector<double> b) { return error_of([&] { r.histogram("t_x_seconds", "H.", b); }); };
  EXPECT_EQ(buckets({1, 1}), "cannot register metric \"t_x_seconds\": bucket bounds must be strictly increasing: "
                             "bound 1 (1) follows 1");
  EXPECT_EQ(buckets({0.5, 0.25}), "cannot register metric \"t_x_seconds\": bucket bounds must be strictly "
                                  "increasing: bound 1 (0.25) follows 0.5");
  EXPECT_EQ(buckets({1, inf, 2}), "cannot register metric \"t_x_seconds\": bucket bound 1 is not finite (+Inf is "
                                  "implicit; only a last +Inf is allowed)");
  EXPECT_NE(buckets({-inf, 1}).find("not finite"), std::string::npos);
  EXPECT_NE(buckets({std::nan("")}).find("not finite"), std::string::npos);
  EXPECT_EQ(buckets({}), "");  // only +Inf: a count and a sum
}

TEST(Registry, RejectsDuplicatesWhateverTheirType) {
  Registry r;
  r.gauge("t_level", "Level.");
  EXPECT_EQ(error_of([&] { r.gauge("t_level", "Again."); }),
            "cannot register metric \"t_level\": already registered (as a gauge)");
  EXPECT_EQ(error_of([&] { r.histogram("t_level", "Again.", {1}); }),
            "cannot register metric \"t_level\": already registered (as a gauge)");
  EXPECT_EQ(r.snapshot().size(), 1u);
}

TEST(Registry, SpecMustMatchTheCall) {
  Registry r;
  static constexpr double b[] = {1, 2};
  const MetricSpec spec{MetricType::histogram, "t_x_seconds", "X.", {}, b};
  EXPECT_EQ(error_of([&] { r.counter(spec); }),
            "cannot register metric \"t_x_seconds\" as a counter: its spec says histogram");
  EXPECT_EQ(r.histogram(spec).bounds(), (std::vector<double>{1, 2}));
  const MetricSpec gauge_with_buckets{MetricType::gauge, "t_y", "Y.", {}, b};
  EXPECT_EQ(error_of([&] { r.gauge(gauge_with_buckets); }), "cannot register metric \"t_y\": buckets given for a gauge");
}

TEST(Validation, LabelValuesMustBeUtf8) {
  EXPECT_EQ(label_value_error("plain \"quoted\" \\ back\nslash"), "");
  EXPECT_EQ(label_value_error("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"), "");  // é € 😀
  EXPECT_NE(label_value_error("\xc3"), "");                                  // truncated
  EXPECT_NE(label_value_error("\xc0\xaf"), "");                              // overlong '/'
  EXPECT_NE(label_value_error("\xed\xa0\x80"), "");                          // surrogate
  EXPECT_NE(label_value_error("\xf4\x90\x80\x80"), "");                      // > U+10FFFF
}

// --- concurrency -----------------------------------------------------------------

constexpr int kPerThread = 1'000'000;

template <class F>
void on_two_threads(F f) {
  std::thread a(f), b(f);
  a.join();
  b.join();
}

TEST(Concurrency, TwoThreadsLoseNoIncrement) {
  Registry r;
  Counter& c = r.counter("t_events_total", "Events.").with();
  Gauge& g = r.gauge("t_level", "Level.").with();
  Histogram& h = r.histogram("t_size", "Sizes.", {1, 2}).with();
  on_two_threads([&] {
    for (int i = 0; i < kPerThread; ++i) {
      c.inc();
      g.inc();
      h.observe(i % 2 ? 1.0 : 3.0);
    }
  });
  EXPECT_EQ(c.value(), 2.0 * kPerThread);
  EXPECT_EQ(g.value(), 2.0 * kPerThread);
  const auto s = h.snapshot();
  EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{kPerThread, kPerThread, 2 * kPerThread}));
  EXPECT_EQ(s.sum, 4.0 * kPerThread);
}

TEST(Concurrency, ChildrenCreatedRacingAreOneChild) {
  Registry r;
  auto& f = r.counter("t_requests_total", "Requests.", {"outcome"});
  Counter* seen[2][64];
  std::thread a([&] {
    for (int i = 0; i < 64; ++i) seen[0][i] = &f.with({"outcome", std::to_string(i)});
  });
  std::thread b([&] {
    for (int i = 0; i < 64; ++i) seen[1][i] = &f.with({"outcome", std::to_string(i)});
  });
  a.join();
  b.join();
  for (int i = 0; i < 64; ++i) EXPECT_EQ(seen[0][i], seen[1][i]) << i;
  EXPECT_EQ(r.snapshot()[0].children.size(), 64u);
}

}  // namespace
