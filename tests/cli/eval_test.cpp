// Smoke test of `twotower eval` on the tiny model and a small held-out file.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/process.hpp"
#include "tests/support/safetensors_writer.hpp"

namespace {

TEST(EvalCli, ReportsPerplexityAndEveryGamma) {
  auto dir = tt::test::temp_dir("eval");
  std::string text;
  for (int d = 0; d < 4; ++d)
    text += "The quick brown fox jumps over the lazy dog, and the cat sat on the mat while it rained outside "
            "for days and days.\nA second paragraph of the same document follows here, and it too is long enough to "
            "give a prompt and its continuation of sixteen tokens or more.\n\n";
  tt::test::write_file(dir / "heldout.txt", text);
  const auto r = tt::test::run_binary("eval --model " + std::string(TT_TEST_DATA) + "/tiny-random --heldout " +
                                      (dir / "heldout.txt").string() + " --prompts 2 --max-tokens 16 2>/dev/null");
  ASSERT_EQ(r.status, 0);
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["perplexity"]["documents"].get<int>(), 4);
  EXPECT_GT(j["perplexity"]["perplexity"].get<double>(), 1.0);
  EXPECT_EQ(j["prompts"]["count"].get<int>(), 2);
  EXPECT_EQ(j["prompts"]["documents"].get<int>(), 2);  // spread over documents, not both from the first
  EXPECT_EQ(j["prompts"]["document"], nlohmann::json::array({0, 1}));  // each prompt's document (the bootstrap's groups)
  ASSERT_EQ(j["diffusion"].size(), 5u);
  // The AR tower's confidence in its own greedy tokens: a share, falling as gamma rises.
  const auto& conf = j["ar"]["confidence_above_gamma"];
  ASSERT_EQ(conf.size(), 5u);
  double prev = 1.0;
  for (const char* g : {"0.50", "0.70", "0.80", "0.90", "0.95"}) {
    const double v = conf.at(g).get<double>();
    EXPECT_GE(v, 0.0);
    EXPECT_LE(v, prev) << g;
    prev = v;
  }
  for (const auto& g : j["diffusion"]) {
    EXPECT_GE(g["tokens_per_denoiser_forward"].get<double>(), 1.0);  // every step commits at least one
    EXPECT_GT(g["output_tokens_per_denoiser_forward"].get<double>(), 0.0);
    EXPECT_GT(g["quality_vs_ar"].get<double>(), 0.0);
    for (const char* f : {"tokens_per_denoiser_forward", "quality_vs_ar"}) {  // the bootstrap interval holds the figure
      const auto ci = g[std::string(f) + "_ci95"];
      ASSERT_EQ(ci.size(), 2u) << f;
      EXPECT_LE(ci[0].get<double>(), g[f].get<double>() + 1e-12) << f;
      EXPECT_GE(ci[1].get<double>(), g[f].get<double>() - 1e-12) << f;
    }
    // Per-prompt figures add up to the totals.
    const auto& pp = g["per_prompt"];
    ASSERT_EQ(pp["committed"].size(), 2u);
    double committed = 0, forwards = 0;
    for (size_t i = 0; i < 2; ++i) committed += pp["committed"][i].get<double>(), forwards += pp["denoiser_forwards"][i].get<double>();
    EXPECT_EQ(committed, g["committed_tokens"].get<double>());
    EXPECT_EQ(forwards, g["denoiser_forwards"].get<double>());
    EXPECT_GE(g["agreement_with_ar"].get<double>(), 0.0);
    EXPECT_LE(g["agreement_with_ar"].get<double>(), 1.0);
  }
}

TEST(EvalCli, MissingHeldoutIsAOneLineError) {
  const auto r = tt::test::run_binary("eval --model " + std::string(TT_TEST_DATA) +
                                      "/tiny-random --heldout /nonexistent/heldout.txt 2>&1");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("/nonexistent/heldout.txt"), std::string::npos) << r.out;
}

}  // namespace
