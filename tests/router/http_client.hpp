// Test helper: a blocking HTTP/1.1 client (Boost.Beast) for the router tests:
// keep-alive requests, and SSE streams read event by event. Every read is
// bounded by a socket receive timeout, so a test cannot hang.
#pragma once

#include <sys/socket.h>
#include <sys/time.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace tt::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

struct HttpResult {
  int status = 0;  // 0: no response (connection closed or timed out)
  std::string body;
  std::map<std::string, std::string> headers;
};

using Headers = std::vector<std::pair<std::string, std::string>>;

class HttpClient {
public:
  explicit HttpClient(uint16_t port, int timeout_s = 60) : socket_(ioc_) {
    socket_.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    timeval tv{timeout_s, 0};
    setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }

  void send(http::verb verb, const std::string& target, const std::string& body, const Headers& headers = {}) {
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "127.0.0.1");
    if (!body.empty()) req.set(http::field::content_type, "application/json");
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    req.prepare_payload();
    http::write(socket_, req);
  }

  HttpResult request(http::verb verb, const std::string& target, const std::string& body = "",
                     const Headers& headers = {}) {
    send(verb, target, body, headers);
    return read_response();
  }
  HttpResult get(const std::string& target, const Headers& headers = {}) {
    return request(http::verb::get, target, "", headers);
  }
  HttpResult post(const std::string& target, const std::string& body, const Headers& headers = {}) {
    return request(http::verb::post, target, body, headers);
  }

  HttpResult read_response() {
    HttpResult r;
    http::response_parser<http::string_body> p;
    p.body_limit(64 << 20);
    beast::error_code ec;
    http::read(socket_, buffer_, p, ec);
    if (ec) return r;
    fill(r, p.get());
    return r;
  }

  // SSE: starts a streaming request; the header is read (status in the result).
  HttpResult start_stream(const std::string& target, const std::string& body, const Headers& headers = {}) {
    send(http::verb::post, target, body, headers);
    stream_.emplace();
    stream_->body_limit(64 << 20);
    beast::error_code ec;
    http::read_header(socket_, buffer_, *stream_, ec);
    HttpResult r;
    if (ec) return r;
    fill(r, stream_->get());
    return r;
  }
  // The next `data:` payload, or nullopt when the stream ended (or broke).
  std::optional<std::string> next_event() {
    for (;;) {
      auto& body = stream_->get().body();
      const size_t end = body.find("\n\n", consumed_);
      if (end != std::string::npos) {
        std::string event = body.substr(consumed_, end - consumed_);
        consumed_ = end + 2;
        if (event.rfind("data: ", 0) == 0) return event.substr(6);
        continue;
      }
      if (stream_->is_done()) return std::nullopt;
      beast::error_code ec;
      http::read_some(socket_, buffer_, *stream_, ec);
      if (ec) return std::nullopt;
    }
  }
  // Every event of a stream up to its end.
  std::vector<std::string> all_events() {
    std::vector<std::string> out;
    while (auto e = next_event()) out.push_back(*e);
    stream_.reset();
    consumed_ = 0;
    return out;
  }

  void close() {
    beast::error_code ec;
    socket_.shutdown(net::ip::tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }

private:
  template <class Message>
  static void fill(HttpResult& r, const Message& m) {
    r.status = static_cast<int>(m.result_int());
    for (const auto& f : m) r.headers[std::string(f.name_string())] = std::string(f.value());
    if constexpr (requires { m.body(); }) r.body = m.body();
  }

  net::io_context ioc_;
  net::ip::tcp::socket socket_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> stream_;
  size_t consumed_ = 0;
};

}  // namespace tt::test
