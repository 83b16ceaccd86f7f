// The read-dispatch-write loop of one connection (see http_session.hpp).
#include "router/http_session.hpp"

#include <utility>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "monitoring/metrics.hpp"
#include "monitoring/names.hpp"
#include "router/api.hpp"

namespace tt::router {

namespace net = boost::asio;
namespace beast = boost::beast;

net::awaitable<void> serve_connection(StreamPtr s, Api& api) {
  beast::flat_buffer buffer;
  beast::error_code ec;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(api.options().max_body_bytes);
    parser.header_limit(64 * 1024);
    s->expires_after(std::chrono::minutes(5));  // idle keep-alive connections go away
    co_await http::async_read(*s, buffer, parser, net::redirect_error(net::use_awaitable, ec));
    if (ec == http::error::body_limit) {
      api.metrics().rejections.with({"reason", mon::names::reason::invalid_request}).inc();
      const auto res = api.error(ApiError{413,
                                          "the request body is larger than " +
                                              std::to_string(api.options().max_body_bytes) + " bytes",
                                          "invalid_request_error", "", "body_too_large"},
                                 11, false);
      s->expires_after(std::chrono::seconds(10));
      co_await http::async_write(*s, res, net::redirect_error(net::use_awaitable, ec));
      break;
    }
    if (ec && ec.category() == http::make_error_code(http::error::bad_target).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message) {
      const auto res = api.error(bad_request("malformed HTTP request: " + ec.message(), "", "bad_http"), 11, false);
      s->expires_after(std::chrono::seconds(10));
      co_await http::async_write(*s, res, net::redirect_error(net::use_awaitable, ec));
      break;
    }
    if (ec) break;  // closed, reset or idle
    const auto read = std::chrono::steady_clock::now();
    s->expires_never();
    HttpRequest req = parser.release();
    bool keep = req.keep_alive();
    auto routed = api.route(req);
    if (auto* res = std::get_if<HttpResponse>(&routed)) {
      keep = keep && res->keep_alive();
      co_await http::async_write(*s, *res, net::redirect_error(net::use_awaitable, ec));
      if (ec) break;
    } else {
      keep = co_await run_completion(s, api, std::move(std::get<CompletionCall>(routed)), req.version(), keep, read);
    }
    if (!keep) break;
  }
  s->socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
}

}  // namespace tt::router
