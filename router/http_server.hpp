// The router's HTTP listener: an Asio io_context run by a few threads, one
// strand per connection (serve_connection), stopped gracefully.
#pragma once

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace tt::router {

class Api;

class HttpServer {
public:
  // Binds host:port (0 = any free port); throws tt::Error when it cannot.
  HttpServer(Api& api, const std::string& host, uint16_t port);
  ~HttpServer();

  uint16_t port() const { return port_; }
  void start(int threads);
  void stop_accepting();  // open connections go on
  void stop();            // everything ends; joins the threads

private:
  Api& api_;
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::vector<std::thread> threads_;
};

}  // namespace tt::router
