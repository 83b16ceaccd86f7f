// The Asio client: C++20 coroutines on one io_context thread.
#include "tools/loadgen/runner.hpp"

#include <chrono>
#include <deque>
#include <memory>

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange without it

#include <boost/asio.hpp>

#include "model/error.hpp"

namespace tt::capacity {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

struct Conn {
  explicit Conn(asio::io_context& io) : socket(io) {}
  tcp::socket socket;
  std::string pending;  // bytes read past the previous response
  bool open = false;
};

class Client {
public:
  Client(asio::io_context& io, const RunOptions& o) : io_(io), o_(o), origin_(Clock::now()) {
    tcp::resolver resolver(io);
    boost::system::error_code ec;
    endpoints_ = resolver.resolve(o.target.host, std::to_string(o.target.port), ec);
    if (ec) throw Error("--url: cannot resolve '" + o.target.host + "': " + ec.message());
  }
  double now() const { return std::chrono::duration<double>(Clock::now() - origin_).count(); }
  Clock::time_point at(double s) const {
    return origin_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  }

  std::unique_ptr<Conn> take() {
    if (idle_.empty()) return std::make_unique<Conn>(io_);
    auto c = std::move(idle_.back());
    idle_.pop_back();
    return c;
  }
  void give(std::unique_ptr<Conn> c) {
    if (c->open) idle_.push_back(std::move(c));
  }

  // Sends one request on `c` (reconnecting when needed) and fills `rec`.
  asio::awaitable<void> request(Conn& c, const RequestSpec& spec, uint64_t index, RequestRecord& rec) {
    const std::string bytes = build_request(o_.target, o_.request, spec, index);
    rec.start_s = now();
    rec.input_tokens = spec.input_len;
    rec.measured = rec.start_s >= o_.warmup_s;
    asio::steady_timer deadline(io_);
    deadline.expires_after(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.timeout_s)));
    auto state = std::make_shared<std::pair<bool, bool>>(true, false);  // (in flight, timed out)
    deadline.async_wait([state, &c](boost::system::error_code ec) {
      if (!ec && state->first) state->second = true, c.socket.close();
    });
    bool got_bytes = false;
    for (int attempt = 0; attempt < 2; ++attempt) {
      const bool reused = c.open;
      try {
        if (!c.open) {
          co_await asio::async_connect(c.socket, endpoints_, asio::use_awaitable);
          c.socket.set_option(tcp::no_delay(true));
          c.open = true;
          c.pending.clear();
        }
        co_await asio::async_write(c.socket, asio::buffer(bytes), asio::use_awaitable);
        co_await read_response(c, rec, got_bytes);
        break;
      } catch (const boost::system::system_error& e) {
        c.open = false;
        boost::system::error_code ignored;
        c.socket.close(ignored);
        // A keep-alive connection the server closed while idle: retry once on a fresh one.
        if (reused && !state->second && attempt == 0 && !got_bytes) continue;
        rec.ok = false;
        rec.end_s = now();
        rec.error = state->second ? "timeout" : std::string("connection: ") + e.code().message();
        break;
      } catch (const Error& e) {
        c.open = false;
        boost::system::error_code ignored;
        c.socket.close(ignored);
        rec.ok = false;
        rec.end_s = now();
        rec.error = e.what();
        break;
      }
    }
    state->first = false;
    deadline.cancel();
  }

private:
  asio::awaitable<void> read_response(Conn& c, RequestRecord& rec, bool& got_bytes) {
    ResponseConsumer consumer(o_.request.stream, rec);
    double t = now();
    ResponseParser parser([&](std::string_view b) { consumer.body(b, t); });
    char buf[16384];
    std::string data = std::move(c.pending);
    c.pending.clear();
    while (true) {
      if (!data.empty()) {
        const size_t used = parser.feed(data);
        if (parser.done()) {
          c.pending = data.substr(used);
          break;
        }
        data.clear();
      }
      boost::system::error_code ec;
      const size_t n = co_await c.socket.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
      t = now();
      if (ec == asio::error::eof) {
        parser.on_eof();
        c.open = false;
        break;
      }
      if (ec) throw boost::system::system_error(ec);
      got_bytes = true;
      data.assign(buf, n);
    }
    if (!parser.keep_alive()) {
      boost::system::error_code ignored;
      c.socket.close(ignored);
      c.open = false;
    }
    consumer.finish(parser.status(), now());
  }

  asio::io_context& io_;
  const RunOptions& o_;
  Clock::time_point origin_;
  tcp::resolver::results_type endpoints_;
  std::vector<std::unique_ptr<Conn>> idle_;
};

}  // namespace

std::vector<RequestRecord> run_closed(const RunOptions& o, int concurrency, const SpecSource& next) {
  asio::io_context io(1);
  Client client(io, o);
  std::deque<RequestRecord> records;  // stable addresses while workers write into them
  size_t index = 0;
  const double stop = o.duration_s > 0 ? o.warmup_s + o.duration_s : 0;
  for (int w = 0; w < concurrency; ++w) {
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
      Conn conn(io);
      while (stop <= 0 || client.now() < stop) {
        const size_t i = index++;
        std::optional<RequestSpec> spec = next(i);
        if (!spec) break;
        records.emplace_back();
        co_await client.request(conn, *spec, i, records.back());
      }
      boost::system::error_code ignored;
      conn.socket.close(ignored);
    }, asio::detached);
  }
  io.run();
  return {records.begin(), records.end()};
}

std::vector<RequestRecord> run_open(const RunOptions& o, const std::vector<RequestSpec>& specs) {
  asio::io_context io(1);
  Client client(io, o);
  std::vector<RequestRecord> records(specs.size());
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    asio::steady_timer timer(io);
    for (size_t i = 0; i < specs.size(); ++i) {
      timer.expires_at(client.at(specs[i].at_s));
      co_await timer.async_wait(asio::use_awaitable);
      asio::co_spawn(io, [&, i]() -> asio::awaitable<void> {
        std::unique_ptr<Conn> c = client.take();
        co_await client.request(*c, specs[i], i, records[i]);
        client.give(std::move(c));
      }, asio::detached);
    }
  }, asio::detached);
  io.run();
  return records;
}

}  // namespace tt::capacity
