// The backend-independent decoding loop (model/batch_decode.hpp) run by the
// CPU towers equals tt::Engine (ContextCore + DenoiserCore, the actors'
// engine) token for token and counter for counter: AR and diffusion, greedy
// and sampled, EOS and length stops, traces, several requests in one batch.
// The GPU backend is then checked against this one (tests/model/cuda).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "model/batch_decode.hpp"
#include "model/engine.hpp"

namespace tt {
namespace {

std::vector<GenerateRequest> mixed_requests(const ModelConfig& cfg) {
  std::vector<GenerateRequest> rs;
  auto add = [&](Mode mode, std::vector<int32_t> prompt, int max_tokens, float gamma, float temperature,
                 uint64_t seed, bool trace = false) {
    GenerateRequest r;
    r.mode = mode;
    r.prompt = std::move(prompt);
    r.max_tokens = max_tokens;
    r.diffusion.gamma = gamma;
    r.diffusion.temperature = temperature;
    r.diffusion.seed = seed;
    r.trace = trace;
    rs.push_back(r);
  };
  const int V = cfg.vocab_size;
  add(Mode::ar, {1, 40 % V, 41 % V, 42 % V}, 20, 0.8f, 0.0f, 0);
  add(Mode::ar, {1, 77 % V}, 13, 0.8f, 0.9f, 7);
  add(Mode::diffusion, {1, 50 % V, 60 % V, 70 % V, 80 % V}, 40, 0.8f, 0.0f, 0, true);
  add(Mode::diffusion, {1, 90 % V}, 35, 0.5f, 0.0f, 0);
  add(Mode::diffusion, {1, 33 % V, 34 % V}, 32, 0.9f, 0.8f, 11);
  GenerateRequest short_blocks = rs.back();
  short_blocks.diffusion.block_size = 8;
  short_blocks.diffusion.steps = 4;
  rs.push_back(short_blocks);
  return rs;
}

void expect_same(const GenerateResult& a, const GenerateResult& b, size_t i) {
  EXPECT_EQ(a.tokens, b.tokens) << "request " << i;
  EXPECT_EQ(a.finish, b.finish) << "request " << i;
  EXPECT_EQ(a.prompt_tokens, b.prompt_tokens) << "request " << i;
  EXPECT_EQ(a.denoiser_forwards, b.denoiser_forwards) << "request " << i;
  EXPECT_EQ(a.context_forwards, b.context_forwards) << "request " << i;
  EXPECT_EQ(a.committed_tokens, b.committed_tokens) << "request " << i;
  EXPECT_EQ(a.trace, b.trace) << "request " << i;
}

void check_model(const std::string& dir) {
  auto model = Model::load(dir);
  const auto requests = mixed_requests(model->config);
  Engine engine(*model);
  const auto want = engine.generate(requests);
  CpuDecodeBackend backend(model->config, model->weights);
  const auto got = decode_batch(backend, model->config, requests);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) expect_same(got[i], want[i], i);
  // One at a time equals the batch (the loop's schedule never changes a sequence's output).
  for (size_t i = 0; i < requests.size(); ++i) expect_same(decode_batch(backend, model->config, {&requests[i], 1})[0], want[i], i);
}

TEST(BatchDecode, CpuBackendEqualsTheEngineOnTinyRandom) {
  check_model(std::string(TT_TEST_DATA) + "/tiny-random");
}

TEST(BatchDecode, CpuBackendEqualsTheEngineOnTheDefaultModel) {
  const std::string dir = std::string(TWOTOWER_TEST_SOURCE) + "/models/default";
  if (!std::filesystem::exists(dir + "/config.json")) GTEST_SKIP() << "no models/default";
  check_model(dir);
}

// ignore_eos: the token that would end the sequence is kept and generation runs
// on to max_tokens, in the engine and in the batch loop alike. The test makes
// the model's own 4th greedy token its EOS, so an EOS is sure to come.
TEST(BatchDecode, IgnoreEosRunsPastEosToMaxTokens) {
  auto model = Model::load(std::string(TT_TEST_DATA) + "/tiny-random");
  for (Mode mode : {Mode::ar, Mode::diffusion}) {
    GenerateRequest r;
    r.mode = mode;
    r.prompt = {1, 40, 41, 42};
    r.max_tokens = 24;
    r.diffusion.block_size = 8;
    r.diffusion.steps = 4;
    model->config.eos_token_id = 2;
    const GenerateResult plain = Engine(*model).generate(r);
    ASSERT_GE(plain.tokens.size(), 4u) << mode_name(mode);
    const int32_t eos = plain.tokens[3];
    const auto first = std::find(plain.tokens.begin(), plain.tokens.end(), eos) - plain.tokens.begin();
    model->config.eos_token_id = eos;
    const GenerateResult stopped = Engine(*model).generate(r);
    EXPECT_EQ(stopped.finish, FinishReason::stop) << mode_name(mode);
    EXPECT_EQ(stopped.tokens.size(), static_cast<size_t>(first + 1)) << mode_name(mode);
    r.ignore_eos = true;
    const GenerateResult kept = Engine(*model).generate(r);
    EXPECT_EQ(kept.finish, FinishReason::length) << mode_name(mode);
    ASSERT_EQ(kept.tokens.size(), 24u) << mode_name(mode);
    EXPECT_EQ(std::vector<int32_t>(kept.tokens.begin(), kept.tokens.begin() + first + 1), stopped.tokens);
    CpuDecodeBackend backend(model->config, model->weights);
    expect_same(decode_batch(backend, model->config, {&r, 1})[0], kept, 0);
  }
}

TEST(BatchDecode, BadRequestsAreRejectedBeforeAnyWork) {
  auto model = Model::load(std::string(TT_TEST_DATA) + "/tiny-random");
  CpuDecodeBackend backend(model->config, model->weights);
  GenerateRequest ok;
  ok.prompt = {1, 5};
  GenerateRequest bad = ok;
  bad.diffusion.gamma = 1.5f;
  const std::vector<GenerateRequest> rs = {ok, bad};
  EXPECT_THROW(decode_batch(backend, model->config, rs), std::exception);
  GenerateRequest mock = ok;
  mock.mode = Mode::mock_ar;
  EXPECT_THROW(decode_batch(backend, model->config, {&mock, 1}), std::exception);
  GenerateRequest oov = ok;
  oov.prompt = {1, model->config.vocab_size + 3};
  EXPECT_THROW(decode_batch(backend, model->config, {&oov, 1}), std::exception);
}

}  // namespace
}  // namespace tt
