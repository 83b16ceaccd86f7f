// Confidence unmasking rules, on hand-made logits.
#include "model/decoding.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace tt {
namespace {

constexpr int V = 6;
constexpr int32_t kMask = 3;
constexpr float kInf = std::numeric_limits<float>::infinity();

// Row whose softmax (mask excluded) puts probability p on `token`, the rest spread evenly.
std::vector<float> row(int token, double p) {
  std::vector<float> r(V);
  const double rest = (1.0 - p) / (V - 2);
  for (int i = 0; i < V; ++i) r[i] = static_cast<float>(std::log(i == token ? p : rest));
  r[kMask] = 50.0f;  // the mask logit is huge and must be ignored
  return r;
}

std::vector<float> logits_for(const std::vector<std::pair<int, double>>& rows) {
  std::vector<float> out;
  for (auto [tok, p] : rows) {
    auto r = row(tok, p);
    out.insert(out.end(), r.begin(), r.end());
  }
  return out;
}

TEST(Diffusion, CommitsEverythingAboveGammaStrictly) {
  BlockState b = new_block(0, 4, kMask);
  DiffusionParams p{0.8f, 4, 16, 0.0f, 0};
  auto logits = logits_for({{0, 0.95}, {1, 0.5}, {2, 0.9}, {4, 0.3}});
  EXPECT_EQ(diffusion_step(logits, V, b, p, kMask), 2);
  EXPECT_EQ(b.tokens, (std::vector<int32_t>{0, kMask, 2, kMask}));
  EXPECT_EQ(b.step, 1);
}

TEST(Diffusion, StrictThresholdNeverCountsEquality) {
  // Every position is certain (p = 1 exactly); with gamma = 1 none is strictly above.
  BlockState b = new_block(0, 4, kMask);
  DiffusionParams p{1.0f, 4, 16, 0.0f, 0};
  std::vector<float> logits(4 * V, -kInf);
  for (int i = 0; i < 4; ++i) logits[i * V + i % 3] = 0.0f;
  EXPECT_EQ(diffusion_step(logits, V, b, p, kMask), 1);  // at-least-one rule only
  EXPECT_EQ(b.tokens[0], 0);
}

TEST(Diffusion, AtLeastOneCommitAndTiesGoToLowerPosition) {
  BlockState b = new_block(0, 4, kMask);
  DiffusionParams p{0.9f, 4, 16, 0.0f, 0};
  auto logits = logits_for({{0, 0.3}, {1, 0.4}, {2, 0.4}, {4, 0.2}});
  EXPECT_EQ(diffusion_step(logits, V, b, p, kMask), 1);
  EXPECT_EQ(b.tokens, (std::vector<int32_t>{kMask, 1, kMask, kMask}));
}

TEST(Diffusion, ProgressFloor) {
  BlockState b = new_block(0, 16, kMask);
  DiffusionParams p{0.99f, 16, 4, 0.0f, 0};
  std::vector<std::pair<int, double>> rows;
  for (int i = 0; i < 16; ++i) rows.push_back({i % 3, 0.2 + 0.01 * i});
  auto logits = logits_for(rows);
  EXPECT_EQ(diffusion_step(logits, V, b, p, kMask), 4);  // ceil(16 / 4)
  // The four most confident are positions 15, 14, 13, 12.
  for (int i = 12; i < 16; ++i) EXPECT_NE(b.tokens[i], kMask);
  EXPECT_EQ(diffusion_step(logits, V, b, p, kMask), 4);  // ceil(12 / 3)
  EXPECT_EQ(diffusion_step(logits, V, b, p, kMask), 4);  // ceil(8 / 2)
  EXPECT_EQ(b.masked(kMask), 4);
  EXPECT_EQ(diffusion_step(logits, V, b, p, kMask), 4);  // last step: all
  EXPECT_EQ(b.masked(kMask), 0);
}

TEST(Diffusion, LastStepCommitsAllAndCommittedTokensNeverChange) {
  BlockState b = new_block(3, 4, kMask);
  DiffusionParams p{0.5f, 4, 2, 0.0f, 0};
  EXPECT_EQ(diffusion_step(logits_for({{0, 0.9}, {1, 0.2}, {2, 0.2}, {4, 0.2}}), V, b, p, kMask), 2);  // floor ceil(4/2)
  const auto after_first = b.tokens;
  // Now the logits would prefer other tokens everywhere; committed ones stay.
  EXPECT_EQ(diffusion_step(logits_for({{5, 0.9}, {5, 0.9}, {5, 0.1}, {5, 0.1}}), V, b, p, kMask), 2);
  for (int i = 0; i < 4; ++i) {
    if (after_first[i] != kMask) {
      EXPECT_EQ(b.tokens[i], after_first[i]);
    }
    EXPECT_NE(b.tokens[i], kMask);
  }
}

TEST(Diffusion, MaskTokenIsNeverPredicted) {
  BlockState b = new_block(0, 2, kMask);
  DiffusionParams p{0.5f, 2, 1, 0.0f, 0};
  diffusion_step(logits_for({{0, 0.5}, {1, 0.5}}), V, b, p, kMask);
  for (int32_t t : b.tokens) EXPECT_NE(t, kMask);
}

TEST(Diffusion, SampledStepsDependOnlyOnSeedAndPosition) {
  DiffusionParams p{0.5f, 8, 8, 1.0f, 42};
  std::vector<std::pair<int, double>> rows(8, {0, 0.25});
  auto logits = logits_for(rows);
  BlockState a = new_block(2, 8, kMask), b = new_block(2, 8, kMask);
  diffusion_step(logits, V, a, p, kMask);
  diffusion_step(logits, V, b, p, kMask);
  EXPECT_EQ(a.tokens, b.tokens);
  // Other seeds give other draws somewhere (8 draws of near-uniform choices).
  bool differs = false;
  for (uint64_t seed = 43; seed < 53 && !differs; ++seed) {
    BlockState c = new_block(2, 8, kMask);
    DiffusionParams q = p;
    q.seed = seed;
    q.gamma = 0.01f;  // commit all
    BlockState d = new_block(2, 8, kMask);
    DiffusionParams r = p;
    r.gamma = 0.01f;
    diffusion_step(logits, V, c, q, kMask);
    diffusion_step(logits, V, d, r, kMask);
    differs = c.tokens != d.tokens;
  }
  EXPECT_TRUE(differs);
}

TEST(Diffusion, MaskedFractionIsPerBlock) {
  BlockState b = new_block(0, 16, kMask);
  EXPECT_FLOAT_EQ(b.t(kMask), 1.0f);
  b.tokens[0] = 7;
  b.tokens[5] = 8;
  EXPECT_FLOAT_EQ(b.t(kMask), 14.0f / 16.0f);
}

TEST(ChooseToken, GreedyAndSampled) {
  std::vector<float> l{0.1f, 2.0f, 1.9f, -1.0f};
  EXPECT_EQ(choose_token(l, 0.0f, 0, 0), 1);
  // Sampling at a tiny temperature equals greedy.
  EXPECT_EQ(choose_token(l, 1e-4f, 5, ar_stream(3)), 1);
  EXPECT_EQ(choose_token(l, 1.0f, 5, ar_stream(3)), choose_token(l, 1.0f, 5, ar_stream(3)));
}

}  // namespace
}  // namespace tt
