// The real `twotower` binary against one kind of bad input per test: a broken
// model directory (config.json, model.safetensors, tokenizer.json) or a bad
// command-line value. Every one must end with exit status 2 (no signal),
// nothing on stdout, and exactly one stderr line
//   twotower <cmd>: error: <message naming the file/tensor/parameter>
// This file: positive controls, broken model directories, config, weights, tokenizer.
#include "tests/cli/bad_input_fixture.hpp"

#include <limits>

namespace {
// ---------------------------------------------------------------------------
// Positive controls.

TEST_F(BadInput, ControlGenerateEveryModeJson) {
  for (const std::string mode : {"diffusion", "ar", "mock-ar"}) {
    SCOPED_TRACE("mode " + mode);
    RunResult r = generate({"--mode", mode, "--max-tokens", "8", "--json"});
    SCOPED_TRACE(r.describe());
    ASSERT_TRUE(r.exited);
    ASSERT_EQ(r.exit_code, 0);
    ASSERT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << "--json prints one line";
    ordered_json j;
    ASSERT_NO_THROW(j = ordered_json::parse(r.out));
    for (const char* key : {"text", "token_ids", "mode", "prompt_tokens", "generated_tokens", "denoiser_forwards",
                            "context_forwards", "tokens_per_forward", "seconds", "tokens_per_second"})
      EXPECT_TRUE(j.contains(key)) << "missing key " << key;
    EXPECT_TRUE(j["text"].is_string());
    ASSERT_TRUE(j["token_ids"].is_array());
    EXPECT_EQ(j["mode"], mode);
    EXPECT_GT(j["prompt_tokens"].get<int>(), 0);
    const int n = j["generated_tokens"].get<int>();
    EXPECT_EQ(static_cast<size_t>(n), j["token_ids"].size());
    EXPECT_GE(n, 1);
    EXPECT_LE(n, 8);
    for (const auto& id : j["token_ids"]) {
      EXPECT_TRUE(id.is_number_integer());
      EXPECT_GE(id.get<int>(), 0);
      EXPECT_LT(id.get<int>(), 1024);
    }
    EXPECT_TRUE(j["tokens_per_forward"].is_number());
    EXPECT_TRUE(j["seconds"].is_number());
    EXPECT_GE(j["seconds"].get<double>(), 0.0);
    EXPECT_TRUE(j["tokens_per_second"].is_number());
    if (mode == "ar") {
      EXPECT_GT(j["context_forwards"].get<int>(), 0);
    } else {
      EXPECT_GT(j["denoiser_forwards"].get<int>(), 0);
    }
  }
}

TEST_F(BadInput, ControlScoreJson) {
  RunResult r = run_twotower({"score", "--model", model_.string(), "--prompt", "The cat", "--continuation",
                              " sat on the mat", "--json"});
  SCOPED_TRACE(r.describe());
  ASSERT_TRUE(r.exited);
  ASSERT_EQ(r.exit_code, 0);
  ordered_json j;
  ASSERT_NO_THROW(j = ordered_json::parse(r.out));
  ASSERT_TRUE(j.contains("logprob"));
  ASSERT_TRUE(j.contains("tokens"));
  EXPECT_TRUE(j["logprob"].is_number());
  EXPECT_LT(j["logprob"].get<double>(), 0.0);
  EXPECT_GE(j["tokens"].get<int>(), 1);
}

// The text of generated tokens that are not valid UTF-8 on their own (lone
// continuation bytes) must come out with U+FFFD, not hang the decoder. The
// model is rigged so that greedy AR can only emit the byte tokens 0x80/0x81:
// the context tower's final norm keeps hidden unit 0 alone, and the head maps
// +h0 to one byte token and -h0 to the other.

// The GPT-2 byte-level alphabet: the vocabulary string of a raw byte.
std::string byte_level_token(unsigned char byte) {
  auto printable = [](int c) { return (c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF); };
  uint32_t cp = byte;
  if (!printable(byte)) {
    cp = 256;
    for (int c = 0; c < byte; ++c) cp += !printable(c);
  }
  std::string out;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return out;
}

TEST_F(BadInput, ControlGeneratedInvalidUtf8IsReplacedNotHung) {
  const ordered_json vocab = read_json(tokenizer())["model"]["vocab"];
  const std::string t80 = byte_level_token(0x80), t81 = byte_level_token(0x81);
  ASSERT_TRUE(vocab.contains(t80) && vocab.contains(t81)) << "the tokenizer lacks the byte tokens 0x80/0x81";
  const int id80 = vocab[t80].get<int>(), id81 = vocab[t81].get<int>();
  const int H = read_json(config())["hidden_size"].get<int>();
  rewrite_tensors([&](std::map<std::string, RawTensor>& t) {
    auto as = [](const RawTensor& like, std::vector<int64_t> shape, const std::vector<float>& v) {
      return like.dtype == "F32" ? tt::test::f32_tensor(std::move(shape), v) : tt::test::bf16_tensor(std::move(shape), v);
    };
    RawTensor& norm = t.at("context_tower.norm_f.weight");
    std::vector<float> nf(static_cast<size_t>(H), 0.0f);
    nf[0] = 1.0f;
    norm = as(norm, norm.shape, nf);
    RawTensor& head = t.at("context_lm_head.weight");
    ASSERT_EQ(head.shape.size(), 2u);
    std::vector<float> w(static_cast<size_t>(head.shape[0] * head.shape[1]), 0.0f);
    w[static_cast<size_t>(id80) * H] = 100.0f;
    w[static_cast<size_t>(id81) * H] = -100.0f;
    head = as(head, head.shape, w);
  });
  RunResult r = run_twotower(
      {"generate", "--model", model_.string(), "--mode", "ar", "--prompt", "Hello", "--max-tokens", "4", "--json"},
      10);
  SCOPED_TRACE(r.describe());
  ASSERT_FALSE(r.timed_out) << "decoding the generated tokens hangs";
  ASSERT_TRUE(r.exited);
  ASSERT_EQ(r.exit_code, 0);
  ordered_json j;
  ASSERT_NO_THROW(j = ordered_json::parse(r.out));
  ASSERT_EQ(j["token_ids"].size(), 4u);
  for (const auto& id : j["token_ids"]) EXPECT_TRUE(id == id80 || id == id81) << id;
  EXPECT_NE(j["text"].get<std::string>().find("\xEF\xBF\xBD"), std::string::npos) << "expected U+FFFD in the text";
}

// ---------------------------------------------------------------------------
// Model directory and config.json.

TEST_F(BadInput, ModelDirectoryMissing) {
  const std::string missing = (root_ / "no-such-model").string();
  expect_bad_input(run_twotower({"generate", "--model", missing, "--prompt", "Hello"}), "generate", {missing});
}

TEST_F(BadInput, ModelDirectoryIsAFile) {
  const std::string file = config().string();
  expect_bad_input(run_twotower({"generate", "--model", file, "--prompt", "Hello"}), "generate", {file});
}

TEST_F(BadInput, ConfigMissing) {
  fs::remove(config());
  expect_bad_input(generate(), "generate", {"config.json"});
}

TEST_F(BadInput, ConfigMalformedJson) {
  tt::test::write_file(config(), "{\"vocab_size\": 1024, \"hidden_size\": 64,,\n");
  expect_bad_input(generate(), "generate", {"config.json"});
}

TEST_F(BadInput, ConfigNotAnObject) {
  tt::test::write_file(config(), "[1, 2, 3]\n");
  expect_bad_input(generate(), "generate", {"config.json"});
}

TEST_F(BadInput, ConfigFieldMissing) {
  edit_config([](ordered_json& j) { j.erase("hidden_size"); });
  expect_bad_input(generate(), "generate", {"config.json", "hidden_size"});
}

TEST_F(BadInput, ConfigFieldWrongType) {
  edit_config([](ordered_json& j) { j["hidden_size"] = "64"; });
  expect_bad_input(generate(), "generate", {"config.json", "hidden_size"});
}

TEST_F(BadInput, ConfigUnknownLayerCharacter) {
  edit_config([](ordered_json& j) {
    std::string p = j["hybrid_override_pattern"].get<std::string>();
    p[4] = 'X';
    j["hybrid_override_pattern"] = p;
  });
  expect_bad_input(generate(), "generate", {"config.json", "hybrid_override_pattern", "'X'"});
}

TEST_F(BadInput, ConfigPatternLengthMismatch) {
  edit_config([](ordered_json& j) {
    std::string p = j["hybrid_override_pattern"].get<std::string>();
    j["hybrid_override_pattern"] = p.substr(0, p.size() - 1);
  });
  expect_bad_input(generate(), "generate", {"config.json", "hybrid_override_pattern", "num_hidden_layers"});
}

TEST_F(BadInput, ConfigUnknownNonAsciiLayerCharacter) {
  // The message must name the whole character, not its first UTF-8 byte.
  edit_config([](ordered_json& j) {
    std::string p = j["hybrid_override_pattern"].get<std::string>();
    j["hybrid_override_pattern"] = p.substr(0, 4) + "\xC3\xA9" + p.substr(5);
  });
  expect_bad_input(generate(), "generate", {"config.json", "hybrid_override_pattern", "'\xC3\xA9'"});
}

TEST_F(BadInput, ConfigNegativeMaxPositionEmbeddings) {
  edit_config([](ordered_json& j) { j["max_position_embeddings"] = -5; });
  expect_bad_input(generate({"--max-tokens", "4"}), "generate", {"config.json", "max_position_embeddings"});
}

// ---------------------------------------------------------------------------
// model.safetensors.

TEST_F(BadInput, WeightsMissing) {
  fs::remove(weights());
  expect_bad_input(generate(), "generate", {"model.safetensors"});
}

TEST_F(BadInput, WeightsEmptyFile) {
  truncate_weights(0);
  expect_bad_input(generate(), "generate", {"model.safetensors"});
}

TEST_F(BadInput, WeightsTruncatedInLengthPrefix) {
  truncate_weights(5);
  expect_bad_input(generate(), "generate", {"model.safetensors"});
}

TEST_F(BadInput, WeightsTruncatedInHeader) {
  const Safetensors s = read_safetensors(weights());
  truncate_weights(8 + s.header_len / 2);
  expect_bad_input(generate(), "generate", {"model.safetensors"});
}

TEST_F(BadInput, WeightsTruncatedInData) {
  const Safetensors s = read_safetensors(weights());
  ASSERT_GT(s.blob.size(), 64u);
  truncate_weights(8 + s.header_len + s.blob.size() / 2);
  expect_bad_input(generate(), "generate", {"model.safetensors"});
}

TEST_F(BadInput, WeightsCorruptHeaderJson) {
  std::string bytes = read_text(weights());
  bytes.replace(8, 4, "#!{[");  // same length: the length prefix stays valid
  tt::test::write_file(weights(), bytes);
  expect_bad_input(generate(), "generate", {"model.safetensors"});
}

TEST_F(BadInput, WeightsHeaderLengthLargerThanFile) {
  std::string bytes = read_text(weights());
  const uint64_t len = bytes.size() + 1000;
  std::memcpy(bytes.data(), &len, 8);
  tt::test::write_file(weights(), bytes);
  expect_bad_input(generate(), "generate", {"model.safetensors"});
}

TEST_F(BadInput, WeightsHugeHeaderLength) {
  std::string bytes = read_text(weights());
  const uint64_t len = ~uint64_t{0} - 4;  // 8 + len wraps around
  std::memcpy(bytes.data(), &len, 8);
  tt::test::write_file(weights(), bytes);
  expect_bad_input(generate(), "generate", {"model.safetensors"});
}

TEST_F(BadInput, WeightsShapeMismatch) {
  const std::string name = "denoiser_tower.layers.3.mixer.q_proj.weight";
  std::vector<int64_t> original;
  rewrite_tensors([&](std::map<std::string, RawTensor>& t) {
    ASSERT_TRUE(t.count(name)) << name << " is not in the tiny checkpoint";
    RawTensor& w = t[name];
    original = w.shape;
    ASSERT_EQ(w.shape.size(), 2u);
    w.shape[0] /= 2;  // a consistent (smaller) tensor whose shape disagrees with config.json
    w.bytes.resize(w.bytes.size() / 2);
  });
  ASSERT_EQ(original.size(), 2u);
  const std::string want = "[" + std::to_string(original[0]) + ", " + std::to_string(original[1]) + "]";
  const std::string got = "[" + std::to_string(original[0] / 2) + ", " + std::to_string(original[1]) + "]";
  expect_bad_input(generate(), "generate", {name, want, got});
}

TEST_F(BadInput, WeightsIntegerDtype) {
  expect_integer_dtype_refused("denoiser_tower.layers.3.mixer.q_proj.weight");
}

TEST_F(BadInput, WeightsIntegerDtypeInVector) {
  expect_integer_dtype_refused("context_tower.layers.0.mixer.A_log");
}

TEST_F(BadInput, WeightsIntegerDtypeInEmbedding) {
  expect_integer_dtype_refused("context_tower.embeddings.weight");
}

TEST_F(BadInput, WeightsMissingTensor) {
  const std::string name = "denoiser_tower.layers.3.mixer.q_proj.weight";
  rewrite_tensors([&](std::map<std::string, RawTensor>& t) { ASSERT_EQ(t.erase(name), 1u); });
  expect_bad_input(generate(), "generate", {name});
}

TEST_F(BadInput, WeightsShardedIndexNamesMissingShard) {
  const std::string shard1 = "model-00001-of-00002.safetensors";
  const std::string shard2 = "model-00002-of-00002.safetensors";  // never written
  const Safetensors s = read_safetensors(weights());
  fs::rename(weights(), model_ / shard1);
  ordered_json index;
  index["metadata"] = {{"total_size", s.blob.size()}};
  index["weight_map"] = ordered_json::object();
  for (const auto& [name, _] : s.header.items())
    if (name != "__metadata__") index["weight_map"][name] = name == "lm_head.weight" ? shard2 : shard1;
  ASSERT_TRUE(index["weight_map"].contains("lm_head.weight"));
  write_json(model_ / "model.safetensors.index.json", index);
  expect_bad_input(generate(), "generate", {shard2});
}

TEST_F(BadInput, WeightsShardedIndexMalformed) {
  fs::rename(weights(), model_ / "model-00001-of-00001.safetensors");
  tt::test::write_file(model_ / "model.safetensors.index.json", "{\"weight_map\": {");
  expect_bad_input(generate(), "generate", {"model.safetensors.index.json"});
}

// ---------------------------------------------------------------------------
// tokenizer.json.

TEST_F(BadInput, TokenizerMalformed) {
  tt::test::write_file(tokenizer(), "{\"model\": {\"type\": \"BPE\", ");
  expect_bad_input(generate(), "generate", {"tokenizer.json"});
}

TEST_F(BadInput, TokenizerUnknownModelType) {
  ordered_json j = read_json(tokenizer());
  j["model"]["type"] = "Unigram";
  write_json(tokenizer(), j);
  expect_bad_input(generate(), "generate", {"tokenizer.json", "Unigram"});
}

TEST_F(BadInput, TokenizerMissingWithTextPrompt) {
  fs::remove(tokenizer());
  expect_bad_input(generate(), "generate", {"tokenizer.json", "--prompt-ids"});
}


// Non-finite weights load (a scan of every value would cost a pass over the whole checkpoint),
// but the first non-finite logit stops generation and scoring with one clear line.
class NonFiniteWeights : public BadInput {
protected:
  void poison(const std::string& name) const {
    rewrite_tensors([&](std::map<std::string, RawTensor>& t) {
      ASSERT_TRUE(t.count(name)) << name;
      RawTensor& w = t[name];
      size_t n = 1;
      for (auto d : w.shape) n *= static_cast<size_t>(d);
      const std::vector<float> nan(n, std::numeric_limits<float>::quiet_NaN());
      w = w.dtype == "F32" ? tt::test::f32_tensor(w.shape, nan) : tt::test::bf16_tensor(w.shape, nan);
    });
  }
};

TEST_F(NonFiniteWeights, NaNContextHeadStopsARGenerationAndScoring) {
  poison("context_lm_head.weight");
  expect_bad_input(generate({"--mode", "ar"}), "generate", {"non-finite logits"});
  expect_bad_input(run_twotower({"score", "--model", model_.string(), "--prompt", "Hello", "--continuation", " world"}),
                   "score", {"non-finite logits"});
}

TEST_F(NonFiniteWeights, NaNDenoiserHeadStopsDiffusion) {
  poison("lm_head.weight");
  expect_bad_input(generate({"--mode", "diffusion"}), "generate", {"non-finite logits"});
  expect_bad_input(generate({"--mode", "mock-ar"}), "generate", {"non-finite logits"});
}

TEST_F(NonFiniteWeights, NaNInsideTheTowerIsCaughtAtTheLogits) {
  poison("context_tower.layers.0.mixer.in_proj.weight");
  expect_bad_input(generate({"--mode", "ar"}), "generate", {"non-finite logits"});
}

}  // namespace
