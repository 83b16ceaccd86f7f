// The /metrics endpoint of a process: a small HTTP/1.1 server (Boost.Beast on
// its own Asio thread) that answers `GET /metrics` with the registry's text
// exposition. Keep-alive, bounded header and body sizes, an idle timeout and a
// connection limit; malformed input gets 400 and a closed connection, never a crash.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace tt::mon {

class Registry;

// What one request gets; the pure part, shared with the router's HTTP server.
struct HttpReply {
  unsigned status = 200;  // 200, 404 (other paths) or 405 (other methods)
  std::string content_type;
  std::string body;       // HEAD: empty (content_length still says the GET size)
  size_t content_length = 0;
  bool allow_get_head = false;  // 405: send `Allow: GET, HEAD`
};

// Which families a process exports (by name); empty: all of them. A role
// exports only the families it records, so that, say, a denoiser does not add
// a second, always-zero twotower_context_generation_tokens_total to every sum.
using FamilyFilter = std::function<bool(std::string_view family_name)>;

// `GET /metrics` (a query string is ignored) -> 200 with the exposition; HEAD
// the same without a body; other paths 404; other methods 405.
HttpReply metrics_reply(const Registry& registry, std::string_view method, std::string_view target,
                        const FamilyFilter& filter = {});

struct MetricsServerLimits {
  size_t max_connections = 64;          // more are accepted and closed at once
  size_t header_bytes = 8 * 1024;       // request line + headers
  size_t body_bytes = 4 * 1024;         // a GET has none; a larger body gets 413
  unsigned idle_timeout_seconds = 120;  // > any sane scrape interval, so keep-alive holds
};

class MetricsServer {
public:
  // Listens on host:port (port 0: any free port) and serves until destroyed.
  // Throws std::runtime_error saying why when the address cannot be used.
  MetricsServer(const Registry& registry, const std::string& host, uint16_t port, MetricsServerLimits limits = {},
                FamilyFilter filter = {});
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  uint16_t port() const;
  // "HOST:PORT" as bound (IPv6 hosts in brackets).
  std::string address() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tt::mon
