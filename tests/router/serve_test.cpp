// `twotower serve`: one command starts router, context and denoiser; SIGTERM
// lets an in-flight stream finish, then every process is gone.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/router/router_fixture.hpp"

namespace tt::test {
namespace {

using json = nlohmann::json;

std::vector<pid_t> children_of(const std::string& err) {
  std::vector<pid_t> pids;
  const std::string key = "started ";
  for (size_t at = err.find(key); at != std::string::npos; at = err.find(key, at + 1)) {
    at = err.find(" pid ", at);
    pids.push_back(static_cast<pid_t>(std::stoi(err.substr(at + 5))));
  }
  return pids;
}

TEST_F(RouterTest, ServeStartsEverythingAndDrainsOnSigterm) {
  Child serve({"serve", "--port", "0", "--denoisers", "2", "--model", router_model_dir(), "--threads", "1"},
              path("serve.out"), path("serve.err"));
  ASSERT_TRUE(wait_for_text(path("serve.out"), "listening on", 1, std::chrono::seconds(120))) << read_file(path("serve.err"));
  const std::string out = read_file(path("serve.out"));
  port_ = static_cast<uint16_t>(std::stoi(out.substr(out.rfind(':') + 1)));
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (HttpClient(port_).get("/ready").status != 200 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_EQ(HttpClient(port_).get("/ready").status, 200);
  const auto pids = children_of(read_file(path("serve.err")));
  ASSERT_EQ(pids.size(), 4u) << read_file(path("serve.err"));  // context, 2 denoisers, router

  HttpClient c(port_);
  const json body{{"model", "default"}, {"prompt", "Once upon a time"}, {"max_tokens", 192}, {"stream", true},
                  {"ignore_eos", true}};
  ASSERT_EQ(c.start_stream("/v1/completions", body.dump()).status, 200);
  std::vector<std::string> events;
  auto first = c.next_event();
  ASSERT_TRUE(first.has_value());
  events.push_back(*first);
  ::kill(serve.pid(), SIGTERM);
  while (auto e = c.next_event()) events.push_back(*e);
  const Streamed s = gather(events);
  EXPECT_TRUE(s.done);
  EXPECT_EQ(s.last["usage"]["completion_tokens"], 192);  // the in-flight request finished
  EXPECT_EQ(serve.wait(std::chrono::seconds(60)), 0) << read_file(path("serve.err"));
  for (pid_t p : pids) EXPECT_NE(::kill(p, 0), 0) << "pid " << p << " still running";
  EXPECT_THROW(HttpClient(port_).get("/health"), boost::system::system_error);  // nobody listens any more
}

// Three consecutive free TCP ports on 127.0.0.1 (for --metrics-port P: P, P+1, P+2).
uint16_t free_port_run(int n) {
  for (int base = 20000 + (::getpid() * 7) % 30000;; base += n + 1) {
    std::vector<int> fds;
    bool ok = true;
    for (int i = 0; i < n && ok; ++i) {
      const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<uint16_t>(base + i));
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      fds.push_back(fd);
    }
    for (int fd : fds) ::close(fd);
    if (ok) return static_cast<uint16_t>(base);
  }
}

TEST_F(RouterTest, ServeWithoutRouterIsACellThatRestartsDenoisersAndStopsWhenItsContextDies) {
  const uint16_t metrics = free_port_run(3);
  procs_.emplace_back(std::vector<std::string>{"serve", "--no-router", "--context-listen", "127.0.0.1:0", "--metrics-port",
                                               std::to_string(metrics), "--denoisers", "2", "--model",
                                               router_model_dir(), "--threads", "1"},
                      path("cell.out"), path("cell.err"));
  Child& cell = procs_.back();
  ASSERT_TRUE(wait_for_text(path("cell.out"), "listening on", 1, std::chrono::seconds(120))) << read_file(path("cell.err"));
  std::string out = read_file(path("cell.out"));
  out = out.substr(out.find("listening on ") + 13);
  contexts_.push_back(out.substr(0, out.find('\n')));
  const auto pids = children_of(read_file(path("cell.err")));
  ASSERT_EQ(pids.size(), 3u) << read_file(path("cell.err"));  // context and 2 denoisers, no router
  // The context's /metrics on P, denoiser i's on P+1+i.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (int i = 0; i < 3; ++i) {
    const std::string family = i == 0 ? "twotower_context_" : "twotower_denoiser_";
    std::string body;
    while (std::chrono::steady_clock::now() < until) {
      try {
        body = HttpClient(static_cast<uint16_t>(metrics + i)).get("/metrics").body;
        if (!body.empty()) break;
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_NE(body.find(family), std::string::npos) << "port " << metrics + i;
  }
  // A router started on its own serves through the cell.
  start_router();
  const json body{{"model", "default"}, {"prompt", "Once upon a time"}, {"max_tokens", 24}, {"ignore_eos", true}};
  const auto r = HttpClient(port_).post("/v1/completions", body.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = json::parse(r.body);
  EXPECT_EQ(j["usage"]["completion_tokens"], 24);
  EXPECT_GT(j["twotower"]["denoiser_forwards"].get<int>(), 0);
  // A denoiser dies: the cell starts it again, it registers, and the cell serves on.
  ASSERT_EQ(::kill(pids[1], SIGKILL), 0);
  ASSERT_TRUE(wait_for_text(path("cell.err"), "started denoiser pid", 3, std::chrono::seconds(30)))
      << read_file(path("cell.err"));
  EXPECT_TRUE(wait_for_text(path("cell.err"), "registered", 3, std::chrono::seconds(60))) << read_file(path("cell.err"));
  const auto again = HttpClient(port_).post("/v1/completions", body.dump());
  EXPECT_EQ(again.status, 200) << again.body;
  // The context actor dies: the cell stops the rest and exits 1, for its supervisor to restart it.
  const auto now = children_of(read_file(path("cell.err")));
  ASSERT_EQ(now.size(), 4u);
  ASSERT_EQ(::kill(now[0], SIGKILL), 0);
  EXPECT_EQ(cell.wait(std::chrono::seconds(60)), 1) << read_file(path("cell.err"));
  for (pid_t p : now) EXPECT_NE(::kill(p, 0), 0) << "pid " << p << " still running";
  EXPECT_NE(read_file(path("cell.err")).find("the context process exited; stopping"), std::string::npos);
}

TEST_F(RouterTest, ADenoiserWaitsForAContextStartedAfterItAndSigtermEndsTheWait) {
  const std::string addr = "127.0.0.1:" + std::to_string(free_port_run(1));
  // Nobody listens yet: without --wait-context the denoiser gives up at once, with it it waits.
  Child quick({"denoiser", "--context", addr, "--model", router_model_dir()}, path("quick.out"), path("quick.err"));
  EXPECT_EQ(quick.wait(std::chrono::seconds(30)), 2);
  EXPECT_NE(read_file(path("quick.err")).find("cannot connect"), std::string::npos) << read_file(path("quick.err"));
  Child waiting({"denoiser", "--context", addr, "--model", router_model_dir(), "--threads", "1", "--wait-context", "60"},
                path("waiting.out"), path("waiting.err"));
  Child interrupted({"denoiser", "--context", addr, "--model", router_model_dir(), "--wait-context", "60"},
                    path("interrupted.out"), path("interrupted.err"));
  std::this_thread::sleep_for(std::chrono::seconds(2));
  ::kill(interrupted.pid(), SIGTERM);
  EXPECT_EQ(interrupted.wait(std::chrono::seconds(10)), 0) << read_file(path("interrupted.err"));
  procs_.emplace_back(std::vector<std::string>{"context", "--listen", addr, "--model", router_model_dir(), "--threads", "1"},
                      path("context.out"), path("context.err"));
  EXPECT_TRUE(wait_for_text(path("context.err"), "registered", 1, std::chrono::seconds(60))) << read_file(path("waiting.err"));
  waiting.kill_now();
}

}  // namespace
}  // namespace tt::test
