// Accept loop and io threads (see http_server.hpp).
#include "router/http_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <utility>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "model/error.hpp"
#include "router/http_session.hpp"

namespace tt::router {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

net::awaitable<void> accept_loop(tcp::acceptor& acceptor, net::io_context& ioc, Api& api) {
  for (;;) {
    boost::system::error_code ec;
    net::any_io_executor strand = net::make_strand(ioc);
    tcp::socket socket = co_await acceptor.async_accept(strand, net::redirect_error(net::use_awaitable, ec));
    if (ec == net::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) continue;  // e.g. too many open files: keep serving the others
    socket.set_option(tcp::no_delay(true), ec);
    auto stream = std::make_shared<boost::beast::tcp_stream>(std::move(socket));
    net::co_spawn(strand, serve_connection(stream, api), net::detached);
  }
}

}  // namespace

HttpServer::HttpServer(Api& api, const std::string& host, uint16_t port) : api_(api), acceptor_(ioc_) {
  boost::system::error_code ec;
  const auto address = net::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) throw Error("--listen: '" + host + "' is not an IP address");
  const tcp::endpoint ep{address, port};
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) throw Error("--listen " + host + ":" + std::to_string(port) + ": cannot listen: " + ec.message());
  port_ = acceptor_.local_endpoint().port();
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::start(int threads) {
  net::co_spawn(ioc_, accept_loop(acceptor_, ioc_, api_), net::detached);
  for (int i = 0; i < std::max(threads, 1); ++i) threads_.emplace_back([this] { ioc_.run(); });
}

void HttpServer::stop_accepting() {
  net::post(acceptor_.get_executor(), [this] {
    boost::system::error_code ec;
    acceptor_.close(ec);
  });
}

void HttpServer::stop() {
  ioc_.stop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

}  // namespace tt::router
