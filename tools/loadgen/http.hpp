// Incremental HTTP/1.1 message parsing for loadgen's client and its fake
// server (Content-Length and chunked bodies, keep-alive), and a Server-Sent
// Events parser. Pure: bytes in, events out.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace tt::capacity {

// Parses one response. feed() consumes bytes and hands body bytes to `on_body`;
// bytes after the end of the message stay in the caller's buffer (pipelining is
// not used, but a keep-alive connection must not lose them).
class ResponseParser {
public:
  using BodySink = std::function<void(std::string_view)>;
  explicit ResponseParser(BodySink on_body) : on_body_(std::move(on_body)) {}

  // Returns the number of bytes of `data` consumed; throws tt::Error on a malformed message.
  size_t feed(std::string_view data);
  // The peer closed the connection: completes a body delimited by close.
  void on_eof();
  bool done() const { return state_ == State::done; }
  int status() const { return status_; }
  bool keep_alive() const { return keep_alive_; }
  const std::map<std::string, std::string>& headers() const { return headers_; }  // lower-case names

private:
  enum class State { status_line, headers, body_length, chunk_size, chunk_data, chunk_crlf, trailers, until_close, done };
  bool line(std::string_view data, size_t& pos, std::string& out);
  void end_headers();

  BodySink on_body_;
  State state_ = State::status_line;
  std::string line_;
  int status_ = 0;
  bool keep_alive_ = true;
  size_t remaining_ = 0;
  std::map<std::string, std::string> headers_;
};

// One request as the fake server sees it (Content-Length bodies only).
struct HttpRequest {
  std::string method, target, body;
  bool keep_alive = true;
};
// Parses a complete request at the front of `buffer`; returns false when more
// bytes are needed, erases the consumed bytes otherwise; throws tt::Error when malformed.
bool parse_request(std::string& buffer, HttpRequest& out);

// Server-Sent Events: calls `on_data` with the data of each complete event.
class SseParser {
public:
  explicit SseParser(std::function<void(const std::string&)> on_data) : on_data_(std::move(on_data)) {}
  void feed(std::string_view bytes);

private:
  std::function<void(const std::string&)> on_data_;
  std::string pending_, data_;
  bool has_data_ = false;
};

}  // namespace tt::capacity
