// The real `twotower` binary against one kind of bad input per test: a broken
// model directory (config.json, model.safetensors, tokenizer.json) or a bad
// command-line value. Every one must end with exit status 2 (no signal),
// nothing on stdout, and exactly one stderr line
//   twotower <cmd>: error: <message naming the file/tensor/parameter>
// This file: prompts, numeric and other command-line options, score.
#include "tests/cli/bad_input_fixture.hpp"

namespace {
// ---------------------------------------------------------------------------
// Prompts.

TEST_F(BadInput, EmptyPrompt) {
  expect_bad_input(generate_raw({"--prompt", ""}), "generate", {"prompt"});
}

TEST_F(BadInput, NoPrompt) {
  expect_bad_input(generate_raw({}), "generate", {"--prompt"});
}

TEST_F(BadInput, PromptAndPromptIds) {
  expect_bad_input(generate({"--prompt-ids", "1,2"}), "generate", {"--prompt", "--prompt-ids"});
}

TEST_F(BadInput, PromptIdsOutsideVocabulary) {
  expect_bad_input(generate_raw({"--prompt-ids", "1,5000,7"}), "generate", {"prompt", "5000"});
}

TEST_F(BadInput, PromptIdsNegative) {
  expect_bad_input(generate_raw({"--prompt-ids", "1,-4"}), "generate", {"prompt-ids", "-4"});
}

TEST_F(BadInput, PromptIdsMalformedList) {
  expect_bad_input(generate_raw({"--prompt-ids", "1,,2"}), "generate", {"prompt-ids"});
}

TEST_F(BadInput, PromptIdsHuge) {
  expect_bad_input(generate_raw({"--prompt-ids", "99999999999"}), "generate", {"prompt-ids", "99999999999"});
}

// ---------------------------------------------------------------------------
// Numeric options.

TEST_F(BadInput, GammaZero) { expect_bad_input(generate({"--gamma", "0"}), "generate", {"gamma"}); }
TEST_F(BadInput, GammaAboveOne) { expect_bad_input(generate({"--gamma", "1.5"}), "generate", {"gamma", "1.5"}); }
TEST_F(BadInput, GammaNaN) { expect_bad_input(generate({"--gamma", "nan"}), "generate", {"gamma", "nan"}); }
TEST_F(BadInput, GammaInf) { expect_bad_input(generate({"--gamma", "inf"}), "generate", {"gamma"}); }
TEST_F(BadInput, GammaNotANumber) { expect_bad_input(generate({"--gamma", "abc"}), "generate", {"gamma", "abc"}); }
TEST_F(BadInput, GammaEmpty) { expect_bad_input(generate({"--gamma", ""}), "generate", {"gamma"}); }
TEST_F(BadInput, BlockSizeZero) { expect_bad_input(generate({"--block-size", "0"}), "generate", {"block-size"}); }
TEST_F(BadInput, BlockSizeTooLarge) {
  expect_bad_input(generate({"--block-size", "100000"}), "generate", {"block-size"});
}
TEST_F(BadInput, StepsZero) { expect_bad_input(generate({"--steps", "0"}), "generate", {"steps"}); }
TEST_F(BadInput, StepsNegative) { expect_bad_input(generate({"--steps", "-3"}), "generate", {"steps"}); }
TEST_F(BadInput, MaxTokensZero) { expect_bad_input(generate({"--max-tokens", "0"}), "generate", {"max-tokens"}); }
TEST_F(BadInput, MaxTokensHuge) {
  expect_bad_input(generate({"--max-tokens", "99999999999"}), "generate", {"max-tokens"});
}
TEST_F(BadInput, MaxTokensOverflow) {
  expect_bad_input(generate({"--max-tokens", "99999999999999999999999"}), "generate", {"max-tokens"});
}
TEST_F(BadInput, MaxTokensNotAnInteger) {
  expect_bad_input(generate({"--max-tokens", "8.5"}), "generate", {"max-tokens", "8.5"});
}
TEST_F(BadInput, MaxTokensAboveContextLimit) {
  const int limit = read_json(config())["max_position_embeddings"].get<int>();
  ASSERT_GT(limit, 0);
  expect_bad_input(generate({"--max-tokens", std::to_string(limit + 1)}), "generate",
                   {"max-tokens", std::to_string(limit)});
}
TEST_F(BadInput, TemperatureNegative) {
  expect_bad_input(generate({"--temperature", "-1"}), "generate", {"temperature"});
}
TEST_F(BadInput, TemperatureNaN) {
  expect_bad_input(generate({"--temperature", "nan"}), "generate", {"temperature"});
}
TEST_F(BadInput, SeedNegative) { expect_bad_input(generate({"--seed", "-1"}), "generate", {"seed"}); }
TEST_F(BadInput, ThreadsZero) { expect_bad_input(generate({"--threads", "0"}), "generate", {"threads"}); }

// ---------------------------------------------------------------------------
// Options themselves.

TEST_F(BadInput, ModeUnknown) { expect_bad_input(generate({"--mode", "banana"}), "generate", {"mode", "banana"}); }
TEST_F(BadInput, UnknownOption) {
  expect_bad_input(generate({"--frobnicate", "3"}), "generate", {"--frobnicate"});
}
TEST_F(BadInput, OptionMissingItsValue) {
  expect_bad_input(generate({"--max-tokens"}), "generate", {"--max-tokens"});
}
TEST_F(BadInput, OptionGivenTwice) {
  expect_bad_input(generate({"--steps", "4", "--steps", "8"}), "generate", {"--steps"});
}
TEST_F(BadInput, FlagWithValue) { expect_bad_input(generate({"--json=yes"}), "generate", {"--json"}); }
TEST_F(BadInput, StrayPositionalArgument) {
  expect_bad_input(generate({"stray"}), "generate", {"stray"});
}
TEST_F(BadInput, UnknownCommand) {
  expect_bad_input(run_twotower({"banana", "--model", model_.string()}), "", {"banana"});
}

// ---------------------------------------------------------------------------
// score.

TEST_F(BadInput, ScoreEmptyContinuation) {
  expect_bad_input(
      run_twotower({"score", "--model", model_.string(), "--prompt", "Hello", "--continuation", ""}), "score",
      {"continuation"});
}

TEST_F(BadInput, ScoreMissingContinuation) {
  expect_bad_input(run_twotower({"score", "--model", model_.string(), "--prompt", "Hello"}), "score",
                   {"--continuation"});
}

TEST_F(BadInput, ScoreContinuationIdsOutsideVocabulary) {
  expect_bad_input(run_twotower({"score", "--model", model_.string(), "--prompt", "Hello", "--continuation-ids",
                                 "5,70000"}),
                   "score", {"continuation", "70000"});
}

TEST_F(BadInput, ScorePromptIdsOutsideVocabulary) {
  expect_bad_input(run_twotower({"score", "--model", model_.string(), "--prompt-ids", "1,5000", "--continuation",
                                 " world"}),
                   "score", {"prompt", "5000"});
}

TEST_F(BadInput, ScoreBrokenConfig) {
  edit_config([](ordered_json& j) { j.erase("hidden_size"); });
  expect_bad_input(
      run_twotower({"score", "--model", model_.string(), "--prompt", "Hello", "--continuation", " world"}), "score",
      {"config.json", "hidden_size"});
}

}  // namespace

// ---------------------------------------------------------------------------
// --device (GPU towers): a clear error where the device does not exist or the
// build has no CUDA, never a crash.
namespace {
TEST_F(BadInput, DeviceNotANumber) {
  expect_bad_input(generate({"--device", "gpu0"}), "generate", {"device", "gpu0"});
}
TEST_F(BadInput, DeviceThatDoesNotExist) {
  // No machine running this suite has 4,096 GPUs; a build without CUDA says so instead.
  expect_bad_input(generate({"--device", "4096"}), "generate", {"device", "4096"});
}
TEST_F(BadInput, DeviceWithConnect) {
  expect_bad_input(generate({"--device", "0", "--connect", "127.0.0.1:1"}), "generate", {"--device", "--connect"});
}
}  // namespace

namespace {
TEST_F(BadInput, DenoiserDeviceThatDoesNotExist) {
  expect_bad_input(run_twotower({"denoiser", "--model", model_.string(), "--context", "127.0.0.1:1", "--device", "4096"}),
                   "denoiser", {"device", "4096"});
}
TEST_F(BadInput, DenoiserDeviceList) {
  expect_bad_input(run_twotower({"denoiser", "--model", model_.string(), "--context", "127.0.0.1:1", "--device", "0,1"}),
                   "denoiser", {"device"});
}
}  // namespace

namespace {
TEST_F(BadInput, ContextDeviceThatDoesNotExist) {
  expect_bad_input(run_twotower({"context", "--model", model_.string(), "--listen", "127.0.0.1:0", "--device", "4096"}),
                   "context", {"device", "4096"});
}
}  // namespace
