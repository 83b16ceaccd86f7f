// TextStream: deltas concatenate to the final text; stop sequences cut it,
// even when they span chunks; unfinished UTF-8 is held back.
#include "router/text_stream.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace tt::router {
namespace {

// Token i decodes to the i-th byte string of the table; the whole byte string
// is then made valid UTF-8 the lossy way (an unfinished tail becomes U+FFFD).
std::string fake_decode(std::span<const int32_t> ids, const std::vector<std::string>& table) {
  std::string bytes;
  for (int32_t id : ids) bytes += table.at(static_cast<size_t>(id));
  // Only the cases used below: a trailing lead byte of a 2-byte character.
  if (!bytes.empty() && (static_cast<unsigned char>(bytes.back()) & 0xE0) == 0xC0) {
    bytes.pop_back();
    bytes += "\xEF\xBF\xBD";
  }
  return bytes;
}

struct Fixture {
  std::vector<std::string> table;
  TextStream make(std::vector<std::string> stop) {
    return TextStream([this](std::span<const int32_t> ids) { return fake_decode(ids, table); }, std::move(stop));
  }
};

std::vector<int32_t> ids(std::initializer_list<int32_t> l) { return l; }

TEST(TextStream, DeltasConcatenateToTheText) {
  Fixture f{{"Hello", ",", " world", "!"}};
  auto s = f.make({});
  std::string all;
  all += s.add(ids({0, 1}), false).text;
  all += s.add(ids({2}), false).text;
  all += s.add(ids({3}), true).text;
  EXPECT_EQ(all, "Hello, world!");
  EXPECT_EQ(s.text(), all);
  EXPECT_FALSE(s.stopped());
}

TEST(TextStream, AStopSequenceCutsTheTextBeforeIt) {
  Fixture f{{"one two", " three", " four"}};
  auto s = f.make({"three", "zzz"});
  auto d1 = s.add(ids({0}), false);
  EXPECT_EQ(d1.text, "one two");
  auto d2 = s.add(ids({1}), false);
  EXPECT_TRUE(d2.stopped);
  EXPECT_EQ(s.text(), "one two ");
  EXPECT_EQ(s.add(ids({2}), true).text, "");  // nothing after a stop
}

TEST(TextStream, AStopSequenceAcrossChunksIsHeldBackThenCut) {
  Fixture f{{"abc EN", "D tail", "D", " more"}};
  auto s = f.make({"END"});
  auto d1 = s.add(ids({0}), false);
  EXPECT_EQ(d1.text, "abc ");  // "EN" might start "END"
  auto d2 = s.add(ids({1}), false);
  EXPECT_TRUE(d2.stopped);
  EXPECT_EQ(d2.text, "");
  EXPECT_EQ(s.text(), "abc ");
}

TEST(TextStream, AHeldBackPrefixIsReleasedWhenItDoesNotContinue) {
  Fixture f{{"abc EN", "X", "!"}};
  auto s = f.make({"END"});
  EXPECT_EQ(s.add(ids({0}), false).text, "abc ");
  EXPECT_EQ(s.add(ids({1}), false).text, "ENX");
  EXPECT_EQ(s.add(ids({2}), true).text, "!");
  EXPECT_FALSE(s.stopped());
}

TEST(TextStream, TheEarliestOfSeveralStopsWins) {
  Fixture f{{"x B y A z"}};
  auto s = f.make({"A", "B"});
  auto d = s.add(ids({0}), true);
  EXPECT_TRUE(d.stopped);
  EXPECT_EQ(d.text, "x ");
}

TEST(TextStream, AnUnfinishedCharacterWaitsForItsOtherBytes) {
  Fixture f{{"caf", "\xC3", "\xA9!"}};  // "café!" split inside the é
  auto s = f.make({});
  EXPECT_EQ(s.add(ids({0}), false).text, "caf");
  EXPECT_EQ(s.add(ids({1}), false).text, "");
  EXPECT_EQ(s.add(ids({2}), false).text, "\xC3\xA9!");
  EXPECT_EQ(s.text(), "caf\xC3\xA9!");
}

TEST(TextStream, TheLastChunkReleasesEverything) {
  Fixture f{{"ab", "\xC3"}};
  auto s = f.make({"abc"});
  EXPECT_EQ(s.add(ids({0}), false).text, "");  // "ab" might start "abc"
  EXPECT_EQ(s.add(ids({1}), true).text, "ab\xEF\xBF\xBD");
}

TEST(TextStream, EmptyStopSequencesAreIgnored) {
  Fixture f{{"abc"}};
  auto s = f.make({""});
  EXPECT_EQ(s.add(ids({0}), true).text, "abc");
}

// Decoding only what follows the last clean boundary gives exactly the deltas
// of decoding everything each time, and keeps each decode short.
TEST(TextStream, IncrementalDecodingEqualsWholeDecoding) {
  const std::vector<std::string> table{"a", "b", " the", "\xC3", "\xA9", "x\xC3", ".", "ab"};
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<int32_t> tokens(1 + rng() % 300);
    for (auto& t : tokens) t = static_cast<int32_t>(rng() % table.size());
    const std::vector<std::string> stop = trial % 3 == 0 ? std::vector<std::string>{"b.a", " theab"}
                                                         : std::vector<std::string>{};
    size_t longest = 0;
    TextStream whole([&](std::span<const int32_t> ids) { return fake_decode(ids, table); }, stop, false);
    TextStream incremental(
        [&](std::span<const int32_t> ids) {
          longest = std::max(longest, ids.size());
          return fake_decode(ids, table);
        },
        stop, true);
    for (size_t at = 0; at < tokens.size();) {
      const size_t n = std::min(tokens.size() - at, size_t{1} + rng() % 3);
      const auto chunk = std::span<const int32_t>(tokens).subspan(at, n);
      at += n;
      const bool last = at == tokens.size();
      const auto a = whole.add(chunk, last), b = incremental.add(chunk, last);
      ASSERT_EQ(a.text, b.text) << "trial " << trial << " at " << at;
      ASSERT_EQ(a.stopped, b.stopped);
      if (a.stopped) break;
    }
    EXPECT_EQ(whole.text(), incremental.text());
    // Decodes stay short: a chunk plus the run of tokens since the last
    // complete character, not the whole stream.
    if (tokens.size() > 150) EXPECT_LT(longest, 40u) << "trial " << trial;
  }
}

}  // namespace
}  // namespace tt::router
