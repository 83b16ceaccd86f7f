// `twotower serve`: one command starts router, context and denoiser; SIGTERM
// lets an in-flight stream finish, then every process is gone.
#include <signal.h>

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
  const json body{{"model", "default"}, {"prompt", "Once upon a time"}, {"max_tokens", 192}, {"stream", true}};
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

}  // namespace
}  // namespace tt::test
