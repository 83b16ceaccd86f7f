// Test helper: context actors (each with its denoisers) and a router as real
// processes on loopback, the router's port read from its first line, every
// child killed in teardown, every wait bounded.
#pragma once

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/actors/cluster_fixture.hpp"
#include "tests/router/http_client.hpp"

namespace tt::test {
// The default model: trained, so its text is real. A test that needs a generation of a given
// length asks for it with ignore_eos: the model may end a text early (EOS).
inline std::string router_model_dir() { return std::string(TWOTOWER_TEST_SOURCE) + "/models/default"; }
}  // namespace tt::test

namespace tt::test {

class RouterTest : public ::testing::Test {
public:
  void SetUp() override {
    char tmpl[] = "/tmp/tt-router-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override {
    router_.kill_now();
    for (auto& c : procs_) c.kill_now();
    if (!HasFailure()) std::system(("rm -rf " + dir_).c_str());
    else std::fprintf(stderr, "router test logs kept in %s\n", dir_.c_str());
  }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  // A context actor with `denoisers` denoisers; returns its index (address in contexts_).
  size_t start_context(int denoisers = 1) {
    const size_t i = contexts_.size();
    const std::string name = "context" + std::to_string(i);
    procs_.emplace_back(std::vector<std::string>{"context", "--listen", "127.0.0.1:0", "--model", router_model_dir(),
                                                 "--threads", "1", "--log-blocks"},
                        path(name + ".out"), path(name + ".err"));
    context_pids_.push_back(procs_.back().pid());
    context_proc_.push_back(procs_.size() - 1);
    EXPECT_TRUE(wait_for_text(path(name + ".out"), "listening on", 1, std::chrono::seconds(60)))
        << read_file(path(name + ".err"));
    std::string out = read_file(path(name + ".out"));
    out = out.substr(out.find("on ") + 3);
    contexts_.push_back(out.substr(0, out.find('\n')));
    for (int d = 0; d < denoisers; ++d) {
      const std::string dn = name + "-denoiser" + std::to_string(d);
      procs_.emplace_back(std::vector<std::string>{"denoiser", "--context", contexts_.back(), "--model", router_model_dir(),
                                                   "--threads", "1"},
                          path(dn + ".out"), path(dn + ".err"));
      EXPECT_TRUE(wait_for_text(path(name + ".err"), "registered", d + 1, std::chrono::seconds(60)))
          << read_file(path(name + ".err"));
    }
    return i;
  }
  void kill_context(size_t i) { procs_[context_proc_[i]].kill_now(SIGKILL); }

  // The router in front of every context started so far; waits until /ready.
  // Probes send a block to a denoiser each: tests that count blocks probe rarely.
  void start_router(const std::vector<std::string>& extra = {}, bool wait_ready = true, int probe_ms = 200) {
    std::string list;
    for (const auto& c : contexts_) list += (list.empty() ? "" : ",") + c;
    start_router_on({"--context", list}, extra, wait_ready, probe_ms);
  }
  // The router finding its context actors through `sources` (--context LIST, --context-dns,
  // --contexts-file ...) instead of the contexts started so far.
  void start_router_on(const std::vector<std::string>& sources, const std::vector<std::string>& extra = {},
                       bool wait_ready = true, int probe_ms = 200) {
    std::vector<std::string> args{"router", "--listen", "127.0.0.1:0", "--model", router_model_dir(),
                                  "--probe-interval-ms", std::to_string(probe_ms)};
    args.insert(args.end(), sources.begin(), sources.end());
    args.insert(args.end(), extra.begin(), extra.end());
    router_ = Child(args, path("router.out"), path("router.err"));
    ASSERT_TRUE(wait_for_text(path("router.out"), "listening on", 1, std::chrono::seconds(60)))
        << read_file(path("router.err"));
    const std::string out = read_file(path("router.out"));
    port_ = static_cast<uint16_t>(std::stoi(out.substr(out.rfind(':') + 1)));
    if (!wait_ready) return;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < until) {
      if (HttpClient(port_).get("/ready").status == 200) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "router never ready: " << read_file(path("router.err"));
  }

  // `twotower generate --json ... --connect <context i>`: the ground truth.
  nlohmann::json generate_connect(const std::vector<std::string>& args, size_t context = 0) {
    std::vector<std::string> all{"generate", "--model", router_model_dir(), "--json", "--connect", contexts_.at(context)};
    all.insert(all.end(), args.begin(), args.end());
    const std::string n = std::to_string(clients_++);
    Child c(all, path("client" + n + ".out"), path("client" + n + ".err"));
    EXPECT_EQ(c.wait(std::chrono::seconds(120)), 0) << read_file(path("client" + n + ".err"));
    return nlohmann::json::parse(read_file(path("client" + n + ".out")), nullptr, false);
  }

  // The value of one unlabelled (or exactly labelled) series in /metrics, -1 when absent.
  double metric(const std::string& series) {
    const std::string text = HttpClient(port_).get("/metrics").body;
    const size_t at = text.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + series.size() + 2));
  }

  std::string dir_;
  std::vector<Child> procs_;
  std::vector<pid_t> context_pids_;
  std::vector<size_t> context_proc_;
  std::vector<std::string> contexts_;
  Child router_;
  uint16_t port_ = 0;
  int clients_ = 0;
};

// The text of an SSE stream's events ([DONE] last) and its final chunk.
struct Streamed {
  std::string text;
  nlohmann::json last;
  bool done = false;  // ended with [DONE]
  size_t chunks = 0;
};

inline Streamed gather(const std::vector<std::string>& events, bool chat = false) {
  Streamed s;
  for (const auto& e : events) {
    if (e == "[DONE]") {
      s.done = true;
      continue;
    }
    auto j = nlohmann::json::parse(e);
    const auto& c = j["choices"][0];
    if (chat) {
      if (c["delta"].contains("content")) s.text += c["delta"]["content"].get<std::string>();
    } else {
      s.text += c["text"].get<std::string>();
    }
    s.last = j;
    ++s.chunks;
  }
  return s;
}

}  // namespace tt::test
