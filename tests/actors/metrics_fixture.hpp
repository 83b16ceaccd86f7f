// Test helper: a context actor and one denoiser as real processes, both with
// --metrics on loopback; scrapes, promtool, and sample lookups in the text format.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "../support/http_client.hpp"
#include "cluster_fixture.hpp"

namespace tt::test {

// The port of "PREFIX HOST:PORT" in `text` (0 when absent).
inline uint16_t port_after(const std::string& text, const std::string& prefix) {
  const size_t p = text.find(prefix);
  if (p == std::string::npos) return 0;
  const size_t end = text.find('\n', p);
  const std::string line = text.substr(p, end - p);
  return static_cast<uint16_t>(std::atoi(line.c_str() + line.rfind(':') + 1));
}

// The value of the sample `series` (name plus labels exactly as rendered) in an exposition.
inline std::optional<double> sample(const std::string& exposition, const std::string& series) {
  const std::string key = "\n" + series + " ";
  const size_t p = ("\n" + exposition).find(key);
  if (p == std::string::npos) return std::nullopt;
  return std::strtod(exposition.c_str() + p + key.size() - 1, nullptr);
}

inline bool have_program(const std::string& name) {
  return std::system(("command -v " + name + " > /dev/null 2>&1").c_str()) == 0;
}

// Runs `command` through the shell; its exit status and combined output.
inline std::pair<int, std::string> shell(const std::string& command) {
  std::string out;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return {-1, ""};
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

class MetricsClusterTest : public ClusterTest {
public:
  void start_with_metrics() {
    context_ = Child({"context", "--listen", "127.0.0.1:0", "--model", model_dir(), "--threads", "1", "--metrics",
                      "127.0.0.1:0"},
                     path("context.out"), path("context.err"));
    ASSERT_TRUE(wait_for_text(path("context.out"), "metrics on", 1, std::chrono::seconds(30)))
        << read_file(path("context.err"));
    const std::string out = read_file(path("context.out"));
    ASSERT_EQ(out.rfind("listening on ", 0), 0u) << "the listen address stays the first line";
    address_ = out.substr(13, out.find('\n') - 13);
    context_metrics_ = port_after(out, "metrics on ");
    denoisers_.emplace_back(std::vector<std::string>{"denoiser", "--context", address_, "--model", model_dir(),
                                                     "--threads", "1", "--metrics", "127.0.0.1:0"},
                            path("denoiser0.out"), path("denoiser0.err"));
    ASSERT_TRUE(wait_for_text(path("denoiser0.out"), "metrics on", 1, std::chrono::seconds(30)))
        << read_file(path("denoiser0.err"));
    denoiser_metrics_ = port_after(read_file(path("denoiser0.out")), "metrics on ");
    ASSERT_TRUE(wait_for_text(path("context.err"), "registered", 1, std::chrono::seconds(30)))
        << read_file(path("context.err")) << read_file(path("denoiser0.err"));
    ASSERT_NE(context_metrics_, 0);
    ASSERT_NE(denoiser_metrics_, 0);
  }

  std::string scrape(uint16_t port) {
    const HttpResponse r = http_get(port, "/metrics");
    EXPECT_EQ(r.status, 200);
    return r.body;
  }

  // `promtool check metrics` on `text`: exit status and its lint lines.
  std::pair<int, std::string> promtool_check(const std::string& text, const std::string& name) {
    const std::string file = path(name + ".prom");
    FILE* f = std::fopen(file.c_str(), "w");
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
    return shell("promtool check metrics < '" + file + "'");
  }

  uint16_t context_metrics_ = 0, denoiser_metrics_ = 0;
};

}  // namespace tt::test
