// The /metrics HTTP server: one Asio thread, one Beast session per connection.
#include "monitoring/http_server.hpp"

#include <chrono>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "monitoring/exposition.hpp"
#include "monitoring/registry.hpp"

namespace tt::mon {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

HttpReply metrics_reply(const Registry& registry, std::string_view method, std::string_view target,
                        const FamilyFilter& filter) {
  HttpReply r;
  const std::string_view path = target.substr(0, target.find('?'));
  const bool head = method == "HEAD";
  if (method != "GET" && !head) {
    r.status = 405;
    r.allow_get_head = true;
    r.content_type = "text/plain; charset=utf-8";
    r.body = "only GET and HEAD are served here\n";
  } else if (path != "/metrics") {
    r.status = 404;
    r.content_type = "text/plain; charset=utf-8";
    r.body = "not found: metrics are at /metrics\n";
  } else {
    r.content_type = std::string(exposition_content_type);
    if (filter) {
      std::vector<FamilySnapshot> families = registry.snapshot();
      std::erase_if(families, [&](const FamilySnapshot& f) { return !filter(f.name); });
      r.body = render(families);
    } else {
      r.body = render(registry);
    }
  }
  r.content_length = r.body.size();
  if (head) r.body.clear();
  return r;
}

namespace {

class Session : public std::enable_shared_from_this<Session> {
public:
  Session(tcp::socket socket, const Registry& registry, const FamilyFilter& filter, const MetricsServerLimits& limits,
          size_t& active)
      : stream_(std::move(socket)), registry_(registry), filter_(filter), limits_(limits), active_(active) {
    ++active_;
  }
  ~Session() { --active_; }

  void read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(limits_.header_bytes));
    parser_->body_limit(limits_.body_bytes);
    stream_.expires_after(std::chrono::seconds(limits_.idle_timeout_seconds));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

private:
  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream) return close();
    if (ec) {
      // Garbage gets one plain answer and a closed connection; I/O errors and
      // timeouts just close.
      if (ec.category() != http::make_error_code(http::error::bad_method).category()) return close();
      HttpReply r;
      r.status = ec == http::error::header_limit ? 431 : ec == http::error::body_limit ? 413 : 400;
      r.content_type = "text/plain; charset=utf-8";
      r.body = "bad request: " + ec.message() + "\n";
      r.content_length = r.body.size();
      return write(std::move(r), 11, false, true);
    }
    const auto& req = parser_->get();
    HttpReply r;
    try {
      r = metrics_reply(registry_, std::string_view(req.method_string().data(), req.method_string().size()),
                        std::string_view(req.target().data(), req.target().size()), filter_);
    } catch (const std::exception& e) {  // out of memory while rendering: tell the scraper
      r = HttpReply{500, "text/plain; charset=utf-8", std::string("internal error: ") + e.what() + "\n"};
      r.content_length = r.body.size();
    }
    write(std::move(r), req.version(), req.keep_alive());
  }

  void write(HttpReply r, unsigned version, bool keep_alive, bool linger = false) {
    res_ = {};
    res_.version(version == 10 ? 10 : 11);
    res_.result(r.status);
    res_.set(http::field::server, "twotower");
    res_.set(http::field::content_type, r.content_type);
    if (r.allow_get_head) res_.set(http::field::allow, "GET, HEAD");
    res_.keep_alive(keep_alive);
    res_.body() = std::move(r.body);
    res_.content_length(r.content_length);  // HEAD: the GET size with no body
    stream_.expires_after(std::chrono::seconds(30));
    http::async_write(stream_, res_, [self = shared_from_this(), keep_alive, linger](beast::error_code ec, size_t) {
      if (!ec && linger) return self->linger();
      if (ec || !keep_alive) return self->close();
      self->read();
    });
  }

  // After refusing a request whose bytes are still arriving: stop sending, and
  // read and drop what comes until the client closes (bounded), so that closing
  // with unread data does not reset the connection before the client has read
  // our answer.
  void linger() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(std::chrono::seconds(2));
    drain(0);
  }
  void drain(size_t so_far) {
    if (so_far > 4 * 1024 * 1024) return close();
    stream_.async_read_some(asio::buffer(discard_), [self = shared_from_this(), so_far](beast::error_code ec, size_t n) {
      if (ec) return self->close();
      self->drain(so_far + n);
    });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_{8 * 1024};
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  char discard_[4096];
  const Registry& registry_;
  const FamilyFilter& filter_;
  const MetricsServerLimits& limits_;
  size_t& active_;
};

}  // namespace

struct MetricsServer::Impl {
  Impl(const Registry& r, MetricsServerLimits l, FamilyFilter f) : registry(r), limits(l), filter(std::move(f)) {}

  void accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (ec) {  // e.g. out of file descriptors: back off instead of spinning
        retry.expires_after(std::chrono::milliseconds(50));
        retry.async_wait([this](beast::error_code e) {
          if (!e) accept();
        });
        return;
      }
      if (active < limits.max_connections) {
        std::make_shared<Session>(std::move(socket), registry, filter, limits, active)->read();
      } else {
        beast::error_code ignored;
        socket.close(ignored);
      }
      accept();
    });
  }

  // Declaration order is destruction order in reverse: sessions (owned by
  // pending handlers) die with io and still find `active`.
  const Registry& registry;
  const MetricsServerLimits limits;
  const FamilyFilter filter;
  size_t active = 0;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  asio::steady_timer retry{io};
  tcp::endpoint bound;
  std::thread thread;
};

MetricsServer::MetricsServer(const Registry& registry, const std::string& host, uint16_t port,
                             MetricsServerLimits limits, FamilyFilter filter)
    : impl_(std::make_unique<Impl>(registry, limits, std::move(filter))) {
  const std::string where = host + ":" + std::to_string(port);
  try {
    tcp::resolver resolver(impl_->io);
    const auto endpoints = resolver.resolve(host, std::to_string(port), tcp::resolver::passive);
    if (endpoints.empty()) throw std::runtime_error("no address");
    const tcp::endpoint ep = endpoints.begin()->endpoint();
    impl_->acceptor.open(ep.protocol());
    impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
    impl_->acceptor.bind(ep);
    impl_->acceptor.listen();
    impl_->bound = impl_->acceptor.local_endpoint();
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot serve metrics on " + where + ": " + e.what());
  }
  impl_->accept();
  impl_->thread = std::thread([impl = impl_.get()] {
    for (;;) {
      try {
        impl->io.run();
        return;
      } catch (const std::exception& e) {  // a handler threw: log and keep serving
        std::fprintf(stderr, "twotower metrics: %s\n", e.what());
      }
    }
  });
}

MetricsServer::~MetricsServer() {
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

uint16_t MetricsServer::port() const { return impl_->bound.port(); }

std::string MetricsServer::address() const {
  const auto a = impl_->bound.address();
  const std::string host = a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
  return host + ":" + std::to_string(port());
}

}  // namespace tt::mon
