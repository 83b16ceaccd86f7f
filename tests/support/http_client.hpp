// Test helper: a raw HTTP/1.1 client over a POSIX socket, so tests can send
// exactly the bytes they mean (well-formed or not) and read what comes back.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace tt::test {

// A connected TCP socket to 127.0.0.1:port (-1 when the connection failed).
class Connection {
public:
  explicit Connection(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) close();
  }
  ~Connection() { close(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool ok() const { return fd_ >= 0; }
  bool send(const std::string& bytes) {
    size_t off = 0;
    while (fd_ >= 0 && off < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return fd_ >= 0;
  }
  // Reads until the peer closes, `stop` returns true for what was read, or `limit` passes.
  template <class Stop>
  std::string read_until(Stop stop, std::chrono::milliseconds limit, bool* closed = nullptr) {
    std::string out;
    const auto until = std::chrono::steady_clock::now() + limit;
    if (closed) *closed = false;
    while (fd_ >= 0 && !stop(out)) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char buf[16384];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        if (closed) *closed = true;
        break;
      }
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }
  std::string read_all(std::chrono::milliseconds limit, bool* closed = nullptr) {
    return read_until([](const std::string&) { return false; }, limit, closed);
  }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

private:
  int fd_ = -1;
};

struct HttpResponse {
  int status = 0;  // 0: no parsable status line
  std::string headers;  // raw header block, lower-cased names not guaranteed
  std::string body;
};

// The first response in `raw` (Content-Length framed; no chunked encoding).
inline HttpResponse parse_response(const std::string& raw, size_t* consumed = nullptr) {
  HttpResponse r;
  const size_t end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || end == std::string::npos) return r;
  r.status = std::atoi(raw.c_str() + 9);
  r.headers = raw.substr(0, end + 2);
  size_t length = 0;
  for (const char* name : {"Content-Length: ", "content-length: "})
    if (auto p = r.headers.find(name); p != std::string::npos) length = std::stoul(r.headers.substr(p + 16));
  r.body = raw.substr(end + 4, length);
  if (consumed) *consumed = end + 4 + r.body.size();
  return r;
}

// One request with `Connection: close`; the whole response.
inline HttpResponse http_get(uint16_t port, const std::string& target, const std::string& method = "GET",
                             std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  Connection c(port);
  if (!c.ok()) return {};
  c.send(method + " " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  return parse_response(c.read_all(limit));
}

// A header's value (first match, case-sensitive name as the server writes it).
inline std::string header(const HttpResponse& r, const std::string& name) {
  const size_t p = r.headers.find(name + ": ");
  if (p == std::string::npos) return "";
  const size_t v = p + name.size() + 2;
  return r.headers.substr(v, r.headers.find("\r\n", v) - v);
}

}  // namespace tt::test
