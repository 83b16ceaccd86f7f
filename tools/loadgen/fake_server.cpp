// The fake OpenAI endpoint: coroutine per connection, timers for the delays.
#include "tools/loadgen/fake_server.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <sstream>
#include <thread>

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange without it

#include <boost/asio.hpp>
#include <nlohmann/json.hpp>

#include "model/error.hpp"
#include "tools/loadgen/http.hpp"

namespace tt::capacity {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

std::chrono::steady_clock::duration dur(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(s));
}

std::string response(int status, const char* reason, const std::string& type, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\nContent-Type: " + type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string chunk(const std::string& payload) {
  std::ostringstream o;
  o << std::hex << payload.size() << "\r\n" << payload << "\r\n";
  return o.str();
}

class Server {
public:
  Server(asio::io_context& io, const FakeServerOptions& o) : io_(io), o_(o), acceptor_(io) {}

  uint16_t listen() {
    tcp::endpoint ep(asio::ip::make_address(o_.host), o_.port);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen(1024);
    return acceptor_.local_endpoint().port();
  }

  asio::awaitable<void> accept_loop() {
    while (true) {
      tcp::socket s = co_await acceptor_.async_accept(asio::use_awaitable);
      s.set_option(tcp::no_delay(true));
      asio::co_spawn(io_, session(std::move(s)), asio::detached);
    }
  }

private:
  asio::awaitable<void> session(tcp::socket s) {
    std::string buf;
    char tmp[16384];
    try {
      while (true) {
        HttpRequest req;
        while (!parse_request(buf, req)) {
          const size_t n = co_await s.async_read_some(asio::buffer(tmp), asio::use_awaitable);
          buf.append(tmp, n);
        }
        co_await answer(s, req);
        if (!req.keep_alive) break;
      }
    } catch (const std::exception&) {
      // peer gone or malformed request: drop the connection
    }
    boost::system::error_code ignored;
    s.close(ignored);
  }

  asio::awaitable<void> answer(tcp::socket& s, const HttpRequest& req) {
    if (req.method != "POST" || req.target != "/v1/completions") {
      co_await asio::async_write(s, asio::buffer(response(404, "Not Found", "application/json",
                                                          R"({"error":{"message":"not found"}})")),
                                 asio::use_awaitable);
      co_return;
    }
    nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
    if (!body.is_object() || !body.contains("max_tokens") || !body["max_tokens"].is_number_integer() ||
        body["max_tokens"].get<int64_t>() < 1 || body["max_tokens"].get<int64_t>() > 1000000) {
      co_await asio::async_write(s, asio::buffer(response(400, "Bad Request", "application/json",
                                                          R"({"error":{"message":"max_tokens: need 1..1000000"}})")),
                                 asio::use_awaitable);
      co_return;
    }
    const int tokens = static_cast<int>(body["max_tokens"].get<int64_t>());
    const bool stream = body.value("stream", false);
    int prompt_tokens = 0;
    if (body.contains("prompt") && body["prompt"].is_array()) prompt_tokens = static_cast<int>(body["prompt"].size());
    const double ttft = o_.ttft_s[served_++ % o_.ttft_s.size()];
    const int chunks = (tokens + o_.tokens_per_chunk - 1) / o_.tokens_per_chunk;
    const int64_t forwards = static_cast<int64_t>(std::ceil(tokens / o_.tokens_per_forward));
    const nlohmann::json usage = {{"prompt_tokens", prompt_tokens}, {"completion_tokens", tokens},
                                  {"total_tokens", prompt_tokens + tokens}};
    const nlohmann::json ext = {{"denoiser_forwards", forwards},
                                {"tokens_per_forward", static_cast<double>(tokens) / static_cast<double>(forwards)}};
    asio::steady_timer timer(io_);
    const auto start = std::chrono::steady_clock::now();
    timer.expires_at(start + dur(ttft));
    if (!stream) {
      timer.expires_at(start + dur(ttft + (chunks - 1) * o_.chunk_gap_s));
      co_await timer.async_wait(asio::use_awaitable);
      nlohmann::json out = {{"id", "cmpl-fake"}, {"object", "text_completion"}, {"model", "fake"},
                            {"choices", {{{"index", 0}, {"text", std::string(static_cast<size_t>(tokens), 'x')},
                                          {"finish_reason", "length"}}}},
                            {"usage", usage}, {"twotower", ext}};
      co_await asio::async_write(s, asio::buffer(response(200, "OK", "application/json", out.dump())),
                                 asio::use_awaitable);
      finished();
      co_return;
    }
    co_await asio::async_write(s, asio::buffer(std::string(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
        "Transfer-Encoding: chunked\r\n\r\n")), asio::use_awaitable);
    int sent = 0;
    // Each gap counts from the previous chunk's send, so a late chunk never shortens the next gap.
    auto due = start + dur(ttft);
    for (int c = 0; c < chunks; ++c) {
      timer.expires_at(due);
      co_await timer.async_wait(asio::use_awaitable);
      due = std::max(due, std::chrono::steady_clock::now()) + dur(o_.chunk_gap_s);
      const int n = std::min(o_.tokens_per_chunk, tokens - sent);
      std::vector<int> ids(static_cast<size_t>(n), 7);
      sent += n;
      nlohmann::json ev = {{"id", "cmpl-fake"}, {"object", "text_completion"},
                           {"choices", {{{"index", 0}, {"text", std::string(static_cast<size_t>(n), 'x')},
                                         {"token_ids", ids},
                                         {"finish_reason", sent == tokens ? nlohmann::json("length") : nlohmann::json()}}}}};
      co_await asio::async_write(s, asio::buffer(chunk("data: " + ev.dump() + "\n\n")), asio::use_awaitable);
    }
    nlohmann::json last = {{"id", "cmpl-fake"}, {"object", "text_completion"}, {"choices", nlohmann::json::array()},
                           {"usage", usage}, {"twotower", ext}};
    co_await asio::async_write(s, asio::buffer(chunk("data: " + last.dump() + "\n\n") + chunk("data: [DONE]\n\n") +
                                               "0\r\n\r\n"),
                               asio::use_awaitable);
    finished();
  }

  void finished() {
    if (o_.max_requests > 0 && ++completed_ >= o_.max_requests) io_.stop();
  }

  asio::io_context& io_;
  const FakeServerOptions& o_;
  tcp::acceptor acceptor_;
  uint64_t served_ = 0;
  int64_t completed_ = 0;
};

}  // namespace

std::vector<double> parse_durations(const std::string& text, const std::string& option) {
  std::vector<double> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t used = 0;
    double v = -1;
    try {
      v = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    const std::string unit = used ? item.substr(used) : "";
    const double scale = unit == "s" ? 1 : unit == "ms" ? 1e-3 : unit == "us" ? 1e-6 : 0;
    if (!used || scale == 0 || !(v >= 0) || v * scale > 3600)
      throw Error(option + ": '" + item + "' is not a duration with a unit (s, ms, us), 0..3600 s");
    out.push_back(v * scale);
  }
  if (out.empty()) throw Error(option + ": empty list of durations");
  return out;
}

struct BackgroundFakeServer::Impl {
  explicit Impl(FakeServerOptions o) : options(std::move(o)), server(io, options) {}
  FakeServerOptions options;
  asio::io_context io{1};
  Server server;
  std::thread thread;
};

namespace {

uint16_t start(Server& server, asio::io_context& io, const FakeServerOptions& o) {
  if (o.ttft_s.empty() || o.tokens_per_chunk < 1 || !(o.tokens_per_forward > 0))
    throw Error("fake server: bad options");
  uint16_t port = 0;
  try {
    port = server.listen();
  } catch (const boost::system::system_error& e) {
    throw Error("--serve-fake: cannot listen on " + o.host + ":" + std::to_string(o.port) + ": " + e.code().message());
  }
  asio::co_spawn(io, server.accept_loop(), asio::detached);
  return port;
}

}  // namespace

void run_fake_server(const FakeServerOptions& o, const std::function<void(uint16_t)>& on_listening) {
  asio::io_context io(1);
  Server server(io, o);
  on_listening(start(server, io, o));
  io.run();
}

BackgroundFakeServer::BackgroundFakeServer(FakeServerOptions o) : impl_(std::make_unique<Impl>(std::move(o))) {
  port_ = start(impl_->server, impl_->io, impl_->options);
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

BackgroundFakeServer::~BackgroundFakeServer() {
  impl_->io.stop();
  impl_->thread.join();
}

}  // namespace tt::capacity
