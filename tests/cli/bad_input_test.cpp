// The real `twotower` binary against one kind of bad input per test: a broken
// model directory (config.json, model.safetensors, tokenizer.json) or a bad
// command-line value. Every one must end with exit status 2 (no signal),
// nothing on stdout, and exactly one stderr line
//   twotower <cmd>: error: <message naming the file/tensor/parameter>
// Positive controls run the same copied, unbroken model in every mode.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/safetensors_writer.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;
using tt::test::RawTensor;

const fs::path kTinyRandom = fs::path(TT_TEST_DATA) / "tiny-random";
constexpr int kTimeoutSeconds = 60;

// ---------------------------------------------------------------------------
// Running the binary: argv passed directly, stdout and stderr captured apart.

struct RunResult {
  bool exited = false;     // WIFEXITED
  int exit_code = -1;      // WEXITSTATUS when exited
  int signal = 0;          // WTERMSIG when killed by a signal
  bool timed_out = false;  // killed by us after kTimeoutSeconds
  std::string out, err;

  std::string describe() const {
    std::string s = "exit=" + (exited ? std::to_string(exit_code) : std::string("none")) +
                    " signal=" + std::to_string(signal) + (timed_out ? " TIMED OUT (killed)" : "") +
                    "\n--- stdout (" + std::to_string(out.size()) + " bytes) ---\n" + out +
                    "\n--- stderr (" + std::to_string(err.size()) + " bytes) ---\n" + err + "\n---";
    return s;
  }
};

RunResult run_twotower(const std::vector<std::string>& args, int timeout_seconds = kTimeoutSeconds) {
  RunResult r;
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2: " << std::strerror(errno);
    return r;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);

  std::vector<std::string> storage;
  storage.push_back(TT_BINARY);
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : storage) argv.push_back(s.data());
  argv.push_back(nullptr);

  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, TT_BINARY, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (rc != 0) {
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    ADD_FAILURE() << "posix_spawn " << TT_BINARY << ": " << std::strerror(rc);
    return r;
  }

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      r.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    int n = ::poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
      if (got > 0) {
        sinks[i]->append(buf, static_cast<size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) ::close(f.fd);

  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) {
    r.exited = true;
    r.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    r.signal = WTERMSIG(status);
  }
  return r;
}

// The contract for bad input: exit 2, no signal, empty stdout, one stderr
// line "twotower <cmd>: error: ..." containing every expected name.
void expect_bad_input(const RunResult& r, const std::string& cmd, const std::vector<std::string>& names) {
  ::testing::Test::RecordProperty("stderr", r.err);  // visible with --gtest_output=xml
  std::vector<std::string> problems;
  if (r.timed_out) problems.push_back("did not finish within the timeout");
  if (r.signal != 0) problems.push_back("killed by signal " + std::to_string(r.signal) + " (" + strsignal(r.signal) + ")");
  if (!r.exited || r.exit_code != 2) problems.push_back("bad input must exit with status 2");
  if (!r.out.empty()) problems.push_back("nothing may be written to stdout on error");
  if (std::count(r.err.begin(), r.err.end(), '\n') != 1 || r.err.empty() || r.err.back() != '\n')
    problems.push_back("stderr must be exactly one newline-terminated line");
  // cmd == "": no valid subcommand, so the line is "twotower: error: ...".
  const std::string prefix = cmd.empty() ? "twotower: error: " : "twotower " + cmd + ": error: ";
  if (r.err.rfind(prefix, 0) != 0) problems.push_back("stderr must start with '" + prefix + "'");
  if (r.err.find("error: ") == std::string::npos) problems.push_back("stderr must say 'error: '");
  for (const auto& name : names)
    if (r.err.find(name) == std::string::npos) problems.push_back("the message must name '" + name + "'");
  if (problems.empty()) return;
  std::string all;
  for (const auto& p : problems) all += "  - " + p + "\n";
  ADD_FAILURE() << "bad input not answered as required:\n" << all << r.describe();
}

// ---------------------------------------------------------------------------
// Editing the copied model.

std::string read_text(const fs::path& p) { return tt::test::read_file(p); }

ordered_json read_json(const fs::path& p) { return ordered_json::parse(read_text(p)); }

void write_json(const fs::path& p, const ordered_json& j) { tt::test::write_file(p, j.dump(2) + "\n"); }

// The header of a safetensors file (with its length) and the data blob.
struct Safetensors {
  uint64_t header_len = 0;
  ordered_json header;
  std::string blob;
};

Safetensors read_safetensors(const fs::path& p) {
  const std::string bytes = read_text(p);
  Safetensors s;
  if (bytes.size() < 8) throw std::runtime_error(p.string() + ": too short");
  std::memcpy(&s.header_len, bytes.data(), 8);
  s.header = ordered_json::parse(bytes.substr(8, s.header_len));
  s.blob = bytes.substr(8 + s.header_len);
  return s;
}

// Every tensor of a safetensors file, by name.
std::map<std::string, RawTensor> read_tensors(const fs::path& p) {
  const Safetensors s = read_safetensors(p);
  std::map<std::string, RawTensor> out;
  for (const auto& [name, e] : s.header.items()) {
    if (name == "__metadata__") continue;
    const uint64_t b = e["data_offsets"][0].get<uint64_t>(), en = e["data_offsets"][1].get<uint64_t>();
    RawTensor t;
    t.dtype = e["dtype"].get<std::string>();
    t.shape = e["shape"].get<std::vector<int64_t>>();
    t.bytes.assign(s.blob.begin() + static_cast<std::ptrdiff_t>(b), s.blob.begin() + static_cast<std::ptrdiff_t>(en));
    out.emplace(name, std::move(t));
  }
  return out;
}

size_t dtype_bytes(const std::string& dtype) {
  if (dtype == "F64" || dtype == "I64") return 8;
  if (dtype == "F32" || dtype == "I32") return 4;
  if (dtype == "F16" || dtype == "BF16" || dtype == "I16") return 2;
  return 1;
}

// ---------------------------------------------------------------------------
// Fixture: a fresh copy of tests/data/tiny-random per test.

class BadInput : public ::testing::Test {
protected:
  void SetUp() override {
    for (const char* f : {"config.json", "model.safetensors", "tokenizer.json"})
      ASSERT_TRUE(fs::exists(kTinyRandom / f)) << kTinyRandom / f << " is missing (run tools/reference/make_tiny_random.py)";
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    root_ = tt::test::temp_dir(std::string("cli-") + info->name());
    model_ = root_ / "model";
    fs::create_directories(model_);
    for (const char* f : {"config.json", "model.safetensors", "tokenizer.json"})
      fs::copy_file(kTinyRandom / f, model_ / f);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  fs::path config() const { return model_ / "config.json"; }
  fs::path weights() const { return model_ / "model.safetensors"; }
  fs::path tokenizer() const { return model_ / "tokenizer.json"; }

  // `twotower generate --model <copy> --prompt Hello <extra...>`
  RunResult generate(const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> args = {"generate", "--model", model_.string(), "--prompt", "Hello"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_twotower(args);
  }
  // `twotower generate --model <copy> <args...>` (no default prompt)
  RunResult generate_raw(const std::vector<std::string>& extra) const {
    std::vector<std::string> args = {"generate", "--model", model_.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_twotower(args);
  }

  void edit_config(const std::function<void(ordered_json&)>& fn) const {
    ordered_json j = read_json(config());
    fn(j);
    write_json(config(), j);
  }
  void rewrite_tensors(const std::function<void(std::map<std::string, RawTensor>&)>& fn) const {
    auto tensors = read_tensors(weights());
    fn(tensors);
    tt::test::write_file(weights(), tt::test::safetensors_bytes(tensors));
  }
  void truncate_weights(uint64_t size) const { fs::resize_file(weights(), size); }

  fs::path root_, model_;
};

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
  const std::string name = "denoiser_tower.layers.3.mixer.q_proj.weight";
  rewrite_tensors([&](std::map<std::string, RawTensor>& t) {
    ASSERT_TRUE(t.count(name));
    RawTensor& w = t[name];
    const size_t n = w.bytes.size() / dtype_bytes(w.dtype);
    w.dtype = "I32";
    w.bytes.assign(n * 4, 0);
  });
  expect_bad_input(generate(), "generate", {name, "I32"});
}

TEST_F(BadInput, WeightsIntegerDtypeInVector) {
  const std::string name = "context_tower.layers.0.mixer.A_log";
  rewrite_tensors([&](std::map<std::string, RawTensor>& t) {
    ASSERT_TRUE(t.count(name));
    RawTensor& w = t[name];
    const size_t n = w.bytes.size() / dtype_bytes(w.dtype);
    w.dtype = "I32";
    w.bytes.assign(n * 4, 0);
  });
  expect_bad_input(generate(), "generate", {name, "I32"});
}

TEST_F(BadInput, WeightsIntegerDtypeInEmbedding) {
  const std::string name = "context_tower.embeddings.weight";
  rewrite_tensors([&](std::map<std::string, RawTensor>& t) {
    ASSERT_TRUE(t.count(name));
    RawTensor& w = t[name];
    const size_t n = w.bytes.size() / dtype_bytes(w.dtype);
    w.dtype = "I32";
    w.bytes.assign(n * 4, 0);
  });
  expect_bad_input(generate(), "generate", {name, "I32"});
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
