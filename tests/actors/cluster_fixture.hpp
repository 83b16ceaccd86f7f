// Test helper: a context actor and its denoisers as real processes on
// loopback (port 0, the bound port read from the context's first line), every
// child killed in teardown, every wait bounded.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "actors/child_process.hpp"


namespace tt::test {

// A child process of the twotower binary; stdout and stderr go to files.
class Child {
public:
  Child() = default;
  Child(const std::vector<std::string>& args, const std::string& out_path, const std::string& err_path)
      : pid_(actors::spawn_with_output(TT_BINARY, args, out_path, err_path)) {}
  Child(Child&& o) noexcept : pid_(o.pid_) { o.pid_ = -1; }
  Child& operator=(Child&& o) noexcept {
    std::swap(pid_, o.pid_);
    return *this;
  }
  ~Child() { kill_now(); }
  pid_t pid() const { return pid_; }
  void kill_now(int sig = SIGKILL) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  // Exit status, or -1 when it did not exit within `limit` (it is then killed).
  int wait(std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (pid_ > 0) {
      int st = 0;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
      }
      if (std::chrono::steady_clock::now() > until) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    kill_now();
    return -1;
  }

private:
  pid_t pid_ = -1;
};

inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

// Polls `path` until it contains `what` `times` times; false after `limit`.
inline bool wait_for_text(const std::string& path, const std::string& what, size_t times,
                          std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (count_of(read_file(path), what) >= times) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

inline std::string model_dir() { return std::string(TT_TEST_DATA) + "/tiny-random"; }

class ClusterTest : public ::testing::Test {
public:  // helpers used by free functions of the tests too
  void SetUp() override {
    char tmpl[] = "/tmp/tt-cluster-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override {
    clients_.clear();
    denoisers_.clear();
    context_.kill_now();
    // A failed test keeps its processes' logs for a look afterwards.
    if (HasFailure())
      std::fprintf(stderr, "kept the logs of the failed test in %s\n", dir_.c_str());
    else
      std::system(("rm -rf " + dir_).c_str());
  }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  // Starts the context actor (with `extra` options) and `n` denoisers, each registered
  // before the next starts (so denoiser i gets key i + 1).
  void start_cluster(int n, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{"context", "--listen", "127.0.0.1:0", "--model", model_dir(), "--threads", "1",
                                  "--log-blocks"};
    args.insert(args.end(), extra.begin(), extra.end());
    context_ = Child(args, path("context.out"), path("context.err"));
    ASSERT_TRUE(wait_for_text(path("context.out"), "listening on", 1, std::chrono::seconds(30)))
        << read_file(path("context.err"));
    const std::string out = read_file(path("context.out"));
    address_ = out.substr(out.find("on ") + 3);
    address_ = address_.substr(0, address_.find('\n'));
    for (int i = 0; i < n; ++i) add_denoiser();
  }
  void add_denoiser() {
    const int i = static_cast<int>(denoisers_.size());
    std::vector<std::string> args{"denoiser", "--context", address_, "--model", model_dir(), "--threads", "1"};
    args.insert(args.end(), denoiser_args_.begin(), denoiser_args_.end());
    denoisers_.emplace_back(args, path("denoiser" + std::to_string(i) + ".out"),
                            path("denoiser" + std::to_string(i) + ".err"));
    ASSERT_TRUE(wait_for_text(path("context.err"), "registered", denoisers_.size(), std::chrono::seconds(30)))
        << read_file(path("context.err")) << read_file(path("denoiser" + std::to_string(i) + ".err"));
  }

  // Starts `twotower generate` (in-process when address is empty); returns its index.
  size_t start_generate(const std::vector<std::string>& args, const std::string& address) {
    std::vector<std::string> all{"generate", "--model", model_dir(), "--json"};
    all.insert(all.end(), args.begin(), args.end());
    if (!address.empty()) {
      all.insert(all.end(), {"--connect", address});
      all.insert(all.end(), client_args_.begin(), client_args_.end());
    }
    const size_t i = clients_.size();
    clients_.emplace_back(all, path("client" + std::to_string(i) + ".out"), path("client" + std::to_string(i) + ".err"));
    return i;
  }
  struct Finished {
    int status = -1;
    std::string out, err;
  };
  Finished finish(size_t i, std::chrono::milliseconds limit = std::chrono::seconds(120)) {
    Finished f;
    f.status = clients_[i].wait(limit);
    f.out = read_file(path("client" + std::to_string(i) + ".out"));
    f.err = read_file(path("client" + std::to_string(i) + ".err"));
    return f;
  }
  nlohmann::json generate(const std::vector<std::string>& args, const std::string& address) {
    auto f = finish(start_generate(args, address));
    EXPECT_EQ(f.status, 0) << f.err;
    if (f.status != 0) return {};
    return nlohmann::json::parse(f.out);
  }

  std::string dir_, address_;
  std::vector<std::string> denoiser_args_;  // appended to every denoiser's options (e.g. TLS)
  std::vector<std::string> client_args_;    // appended to every --connect client's options
  Child context_;
  std::vector<Child> denoisers_;
  std::vector<Child> clients_;
};

// The fields that must agree between the in-process engine and the cluster.
inline void expect_same_generation(const nlohmann::json& local, const nlohmann::json& remote) {
  ASSERT_FALSE(local.is_null());
  ASSERT_FALSE(remote.is_null());
  for (const char* key : {"text", "token_ids", "mode", "prompt_tokens", "generated_tokens", "finish_reason",
                          "denoiser_forwards", "context_forwards", "committed_tokens", "tokens_per_forward",
                          "gamma", "block_size", "steps", "temperature", "seed"}) {
    EXPECT_EQ(local.contains(key), remote.contains(key)) << key;
    if (local.contains(key)) {
      EXPECT_EQ(local[key], remote[key]) << key;
    }
  }
  for (auto it = local.begin(); it != local.end(); ++it) EXPECT_TRUE(remote.contains(it.key())) << it.key();
}

// Generation configs covering diffusion (several gamma, block sizes, sampling), AR and mock-AR.
inline const std::vector<std::vector<std::string>> kConfigs = {
    {"--mode", "diffusion", "--gamma", "0.5", "--prompt-ids", "5,6,7,8,9", "--max-tokens", "40"},
    {"--mode", "diffusion", "--gamma", "0.8", "--prompt-ids", "11,3,250", "--max-tokens", "37", "--block-size", "8"},
    {"--mode", "diffusion", "--gamma", "0.95", "--prompt-ids", "42", "--max-tokens", "33", "--steps", "8"},
    {"--mode", "ar", "--prompt-ids", "5,6,7,8,9", "--max-tokens", "20"},
    {"--mode", "mock-ar", "--prompt-ids", "5,6,7,8,9", "--max-tokens", "12"},
    {"--mode", "mock-ar", "--prompt-ids", "77", "--max-tokens", "9"},
    {"--mode", "diffusion", "--gamma", "0.8", "--prompt-ids", "9,8,7", "--max-tokens", "24", "--temperature", "0.7",
     "--seed", "1234"},
};

// Runs every config against the cluster (all clients at once) and in process.
inline void expect_cluster_matches_in_process(ClusterTest& t, const std::string& address) {
  std::vector<size_t> remote;
  for (const auto& c : kConfigs) remote.push_back(t.start_generate(c, address));
  for (size_t i = 0; i < kConfigs.size(); ++i) {
    SCOPED_TRACE("config " + std::to_string(i));
    auto f = t.finish(remote[i]);
    ASSERT_EQ(f.status, 0) << f.err;
    auto local = t.generate(kConfigs[i], "");
    expect_same_generation(local, nlohmann::json::parse(f.out));
  }
}

}  // namespace tt::test
