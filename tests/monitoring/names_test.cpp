// The runtime's metric names (names.hpp) follow the conventions, and Metrics
// registers exactly them with every known label set.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "monitoring/metrics.hpp"
#include "monitoring/names.hpp"
#include "monitoring/validation.hpp"

namespace {

using namespace tt::mon;

std::vector<std::string> words(const std::string& name) {
  std::vector<std::string> out(1);
  for (char c : name) {
    if (c == '_') {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

TEST(Names, FollowTheConventions) {
  std::set<std::string_view> seen;
  for (const MetricSpec* s : names::all) {
    SCOPED_TRACE(std::string(s->name));
    EXPECT_TRUE(seen.insert(s->name).second) << "listed twice";
    EXPECT_TRUE(s->name.starts_with(std::string(names::prefix) + "_"));
    EXPECT_EQ(metric_name_error(s->name, s->type), "");
    EXPECT_FALSE(s->help.empty());
    EXPECT_TRUE(s->help.ends_with(".")) << "help is a sentence";
    for (std::string_view l : s->label_names) EXPECT_EQ(label_name_error(l), "");
    EXPECT_EQ(bucket_error(s->buckets), "");
    EXPECT_EQ(s->type == MetricType::histogram, !s->buckets.empty()) << "histograms, and only they, have buckets";
    // Base units, and the unit last (before "_total").
    std::string base(s->name);
    if (base.ends_with("_total")) base.resize(base.size() - 6);
    for (std::string_view unit : {"seconds", "bytes"}) {
      if (base.find(unit) != std::string::npos) {
        EXPECT_TRUE(base.ends_with(unit)) << unit << " is not last";
      }
    }
    for (std::string_view bad : {"milli", "micro", "nano", "kilo", "mega", "giga", "minute", "hour", "percent"})
      EXPECT_EQ(base.find(bad), std::string::npos) << "not a base unit: " << bad;
    for (const std::string& word : words(base))  // abbreviations, as promtool's linter reads them
      for (std::string_view abbr : {"s", "ms", "us", "ns", "sec", "b", "kb", "mb", "gb", "pct", "min", "h", "d"})
        EXPECT_NE(word, abbr) << "abbreviated unit";
    const bool timed = base.find("latency") != std::string::npos || base.find("duration") != std::string::npos ||
                       base.find("time") != std::string::npos;
    if (timed) {
      EXPECT_TRUE(base.ends_with("_seconds"));
    }
  }
}

TEST(Names, TokensPerForwardBucketsAreOneToSixteen) {
  ASSERT_EQ(names::tokens_per_forward.buckets.size(), 16u);
  for (size_t i = 0; i < 16; ++i) EXPECT_EQ(names::tokens_per_forward.buckets[i], double(i + 1));
}

TEST(Metrics, RegistersEveryNameWithEveryKnownLabelSet) {
  Registry r;
  Metrics m(r);
  std::set<std::string> registered;
  for (const FamilySnapshot& f : r.snapshot()) {
    registered.insert(f.name);
    size_t expected = 1;
    for (const std::string& label : f.label_names) {
      if (label == "outcome") expected *= std::size(names::outcome::all);
      if (label == "reason") expected *= std::size(names::reason::all);
      if (label == "tower") expected *= std::size(names::tower::all);
      if (label == "transport") expected *= std::size(names::transport::all);
      if (label == "role") expected *= std::size(names::role::all);
      if (label == "event") expected *= std::size(names::event::all);
    }
    EXPECT_EQ(f.children.size(), expected) << f.name;
  }
  std::set<std::string> listed;
  for (const MetricSpec* s : names::all) listed.insert(std::string(s->name));
  EXPECT_EQ(registered, listed);

  // The references are the registry's own children.
  m.peer_events.with({{"role", names::role::context}, {"event", names::event::up}}).inc(2);
  m.migrations.inc();
  for (const FamilySnapshot& f : r.snapshot()) {
    if (f.name == names::migrations.name) {
      EXPECT_EQ(f.children.at(0).value, 1.0);
    }
    if (f.name != names::peer_events.name) continue;
    const std::vector<std::string> context_up{"context", "up"};  // label values in {role, event} order
    for (const ChildSnapshot& c : f.children) {
      EXPECT_EQ(c.value, c.label_values == context_up ? 2.0 : 0.0);
    }
  }
}

TEST(Metrics, TwiceInOneRegistryIsADuplicate) {
  Registry r;
  Metrics first(r);
  try {
    Metrics second(r);
    FAIL() << "registered twice";
  } catch (const MetricError& e) {
    EXPECT_EQ(std::string(e.what()),
              "cannot register metric \"twotower_router_requests_total\": already registered (as a counter)");
  }
}

}  // namespace
