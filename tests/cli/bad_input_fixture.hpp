// Fixture of the bad-input CLI tests: runs the real `twotower` binary with
// posix_spawn on a private copy of tests/data/tiny-random that a test breaks,
// and checks exit status 2, empty stdout and one `error:` line naming the culprit.
#pragma once

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

inline size_t dtype_bytes(const std::string& dtype) {
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

  // Re-types one tensor as I32 (same element count): the loader must refuse it by name.
  void expect_integer_dtype_refused(const std::string& name) const {
    rewrite_tensors([&](std::map<std::string, RawTensor>& t) {
      ASSERT_TRUE(t.count(name));
      RawTensor& w = t[name];
      const size_t n = w.bytes.size() / dtype_bytes(w.dtype);
      w.dtype = "I32";
      w.bytes.assign(n * 4, 0);
    });
    expect_bad_input(generate(), "generate", {name, "I32"});
  }
  void truncate_weights(uint64_t size) const { fs::resize_file(weights(), size); }

  fs::path root_, model_;
};


}  // namespace
