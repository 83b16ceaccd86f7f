// `twotower batch`: JSONL in, JSONL out, each result equal to the same request
// through `generate --json`; a bad line gets its own error and loses nothing.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/support/process.hpp"
#include "tests/support/safetensors_writer.hpp"

namespace {

const std::string kModel = std::string(TT_TEST_DATA) + "/tiny-random";

std::vector<nlohmann::json> lines_of(const std::string& text) {
  std::vector<nlohmann::json> v;
  std::istringstream in(text);
  for (std::string s; std::getline(in, s);) v.push_back(nlohmann::json::parse(s));
  return v;
}

nlohmann::json generate(const std::string& args) {
  const auto r = tt::test::run_binary("generate --model " + kModel + " --json " + args + " 2>/dev/null");
  EXPECT_EQ(r.status, 0) << args;
  return nlohmann::json::parse(r.out);
}

TEST(BatchCli, EveryLineEqualsGenerateAndKeepsInputOrder) {
  auto dir = tt::test::temp_dir("batch");
  tt::test::write_file(dir / "in.jsonl",
                       "{\"prompt_ids\": [1, 5, 9, 14]}\n"
                       "{\"prompt_ids\": [1, 7], \"mode\": \"ar\", \"max_tokens\": 9}\n"
                       "{\"prompt_ids\": [1, 20, 21], \"gamma\": 0.5, \"block_size\": 8, \"steps\": 4}\n"
                       "{\"prompt_ids\": [1, 3, 4], \"mode\": \"mock-ar\", \"max_tokens\": 5}\n"
                       "{\"prompt_ids\": [1, 11], \"temperature\": 0.8, \"seed\": 7}\n");
  const auto r = tt::test::run_binary("batch --model " + kModel + " --max-tokens 12 --batch 2 --input " +
                                      (dir / "in.jsonl").string() + " 2>/dev/null");
  ASSERT_EQ(r.status, 0);
  const auto got = lines_of(r.out);
  ASSERT_EQ(got.size(), 5u);
  const std::vector<std::string> same{
      "--prompt-ids 1,5,9,14 --max-tokens 12",
      "--prompt-ids 1,7 --mode ar --max-tokens 9",
      "--prompt-ids 1,20,21 --gamma 0.5 --block-size 8 --steps 4 --max-tokens 12",
      "--prompt-ids 1,3,4 --mode mock-ar --max-tokens 5",
      "--prompt-ids 1,11 --temperature 0.8 --seed 7 --max-tokens 12"};
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i]["index"].get<size_t>(), i);
    const auto want = generate(same[i]);
    EXPECT_EQ(got[i]["token_ids"], want["token_ids"]) << same[i];
    EXPECT_EQ(got[i]["mode"], want["mode"]);
    EXPECT_EQ(got[i]["finish_reason"], want["finish_reason"]);
    EXPECT_EQ(got[i]["denoiser_forwards"], want["denoiser_forwards"]);
  }
}

TEST(BatchCli, BadLinesGetTheirOwnErrorAndTheRestStillRuns) {
  auto dir = tt::test::temp_dir("batch-bad");
  tt::test::write_file(dir / "in.jsonl",
                       "{\"prompt_ids\": [1, 5]}\n"
                       "not json\n"
                       "{\"prompt_ids\": [1, 99999]}\n"
                       "{\"prompt_ids\": [1, 5], \"gamma\": 1.5}\n"
                       "{\"prompt_ids\": [1, 5], \"max_tokens\": \"ten\"}\n"
                       "{\"prompt_ids\": [1, 5], \"colour\": 1}\n"
                       "{\"prompt\": \"x\", \"prompt_ids\": [1]}\n"
                       "[1, 2]\n"
                       "{\"prompt_ids\": [1, 6], \"mode\": \"ar\", \"max_tokens\": 3}\n");
  const auto r = tt::test::run_binary("batch --model " + kModel + " --max-tokens 4 --input " +
                                      (dir / "in.jsonl").string() + " 2>/dev/null");
  EXPECT_EQ(r.status, 1);
  const auto got = lines_of(r.out);
  ASSERT_EQ(got.size(), 9u);
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i]["index"].get<size_t>(), i);
  EXPECT_EQ(got[0]["token_ids"].size(), 4u);
  EXPECT_EQ(got[8]["token_ids"].size(), 3u);
  const std::vector<std::string> says{"JSON", "vocabulary", "gamma", "max_tokens", "colour", "exactly one", "object"};
  for (size_t i = 1; i <= 7; ++i) {
    ASSERT_TRUE(got[i].contains("error")) << got[i].dump();
    EXPECT_NE(got[i]["error"].get<std::string>().find(says[i - 1]), std::string::npos) << got[i].dump();
    EXPECT_FALSE(got[i].contains("token_ids"));
  }
}

TEST(BatchCli, MissingInputIsAOneLineError) {
  const auto r = tt::test::run_binary("batch --model " + kModel + " --input /nonexistent/in.jsonl 2>&1");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("/nonexistent/in.jsonl"), std::string::npos) << r.out;
}

}  // namespace
