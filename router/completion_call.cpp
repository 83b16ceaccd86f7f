// Runs one completion on its connection: submits it to the dispatcher and
// moves the bytes of its response (completion_response.hpp) to the client as
// the events arrive. A client that goes away (end of stream on its socket)
// cancels the generation upstream.
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <mutex>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

#include <boost/asio/post.hpp>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>

#include "model/tokenizer.hpp"
#include "monitoring/metrics.hpp"
#include "router/api.hpp"
#include "router/dispatcher.hpp"
#include "router/http_session.hpp"
#include "router/completion_response.hpp"

namespace tt::router {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;

// One completion's shared state. The sink (a CAF thread) appends events under
// the lock and posts one pump per burst; everything else runs on the
// connection's strand. The pump turns events into bytes and writes them
// straight to the socket when it takes them all (the usual case); the
// coroutine in run_completion only waits, writes what the socket did not take,
// and ends the call.
struct Call {
  Call(const net::any_io_executor& ex, StreamPtr stream) : timer(ex), s(std::move(stream)) {}

  std::mutex lock;
  std::vector<GenerationEvent> events;  // guarded by lock
  bool pump_pending = false;            // guarded by lock

  // The rest: the strand only.
  net::steady_timer timer;  // the coroutine's wait; cancelled to wake it
  StreamPtr s;
  std::optional<CompletionResponse> response;  // set right after submit, before any pump runs
  std::string unwritten;        // bytes the socket did not take: the coroutine writes them
  bool peer_gone = false;       // the client went away (or a write failed)
  bool finished = false;        // run_completion is over: the watch must not re-arm
  bool stop_upstream = false;   // a stop sequence matched: cancel the generation
  mon::Histogram* overhead = nullptr;  // router_overhead, observed when the last byte is written
  beast::error_code ec;

  // Called from any thread; true when the caller must post a pump.
  bool put(GenerationEvent&& e) {
    std::lock_guard<std::mutex> guard(lock);
    events.push_back(std::move(e));
    return !std::exchange(pump_pending, true);
  }
  std::vector<GenerationEvent> take() {
    std::lock_guard<std::mutex> guard(lock);
    pump_pending = false;
    return std::exchange(events, {});
  }

  // The router's own share of the request, at its last byte.
  void observe_overhead() {
    const auto egress = std::chrono::steady_clock::now() - response->ended_by();
    overhead->observe(response->ingress_s() + std::chrono::duration<double>(egress).count());
  }

  bool needs_coroutine() const { return peer_gone || !unwritten.empty() || response->ended() || stop_upstream; }

  // Events -> bytes -> socket, without waiting.
  void pump() {
    if (finished || needs_coroutine()) return void(timer.cancel());  // the coroutine will pump again
    std::vector<GenerationEvent> batch = take();
    if (batch.empty()) return;
    auto out = response->add(batch);
    stop_upstream = out.stop_upstream;
    size_t done = 0;
    if (!out.bytes.empty()) {
      done = s->socket().write_some(net::buffer(out.bytes), ec);
      if (ec == net::error::would_block || ec == net::error::try_again) done = 0, ec = {};
      if (ec) peer_gone = true;
      else if (done < out.bytes.size()) unwritten = out.bytes.substr(done);
    }
    if (response->ended() && unwritten.empty() && !peer_gone) observe_overhead();
    if (needs_coroutine()) timer.cancel();
  }
};

// Marks the peer gone when its socket reports end of stream or an error. A
// readiness report with nothing to read (the reactor may still hold the edge of
// the request's own bytes) is not an end: the wait is armed again.
void watch_peer(const std::shared_ptr<Call>& call) {
  call->s->socket().async_wait(net::ip::tcp::socket::wait_read, [call](beast::error_code ec) {
    if (ec == net::error::operation_aborted || call->finished) return;
    if (!ec) {
      char byte;
      const ssize_t n = ::recv(call->s->socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n > 0) return;  // the client sent more (a pipelined request): still there
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return watch_peer(call);
    }
    call->peer_gone = true;
    call->timer.cancel();
  });
}

// A whole JSON response as bytes.
std::string render_json(Api& api, unsigned status, const std::string& body, int retry_after_s, unsigned version,
                        bool keep_alive) {
  auto res = api.json_response(status, body, version, keep_alive);
  if (retry_after_s > 0) res.set(http::field::retry_after, std::to_string(retry_after_s));
  std::ostringstream os;
  os << res;
  return os.str();
}

}  // namespace

net::awaitable<bool> run_completion(StreamPtr s, Api& api, CompletionCall cc, unsigned version, bool keep_alive,
                                    std::chrono::steady_clock::time_point read) {
  const CompletionParams& p = cc.params;
  auto ex = co_await net::this_coro::executor;
  Generation generation = api.to_generation(p);
  generation.arrival = read;
  auto call = std::make_shared<Call>(ex, s);
  call->overhead = &api.metrics().router_overhead;
  const uint64_t id = api.dispatcher().submit(std::move(generation), [call, ex](GenerationEvent&& e) {
    if (call->put(std::move(e))) net::post(ex, [call] { call->pump(); });
  });
  // No pump runs before the next co_await: the pumps are posted to this strand.
  const Tokenizer* tok = api.limits().tokenizer;
  call->response.emplace(
      p, make_meta(id, api.limits().model_name, p.chat),
      [tok](std::span<const int32_t> ids) { return tok ? tok->decode(ids, true) : std::string(); },
      tok && tok->decode_concatenates(),
      [&api, version, keep_alive](unsigned status, const std::string& body, int retry) {
        return render_json(api, status, body, retry, version, keep_alive);
      },
      version, keep_alive);
  beast::error_code nb;
  s->socket().non_blocking(true, nb);  // the pump's writes must never block the strand
  if (nb) call->peer_gone = true;
  watch_peer(call);
  auto stop_watch = [&] {
    call->finished = true;
    beast::error_code ignored;
    s->socket().cancel(ignored);
  };
  for (;;) {
    while (!call->needs_coroutine()) {
      call->timer.expires_at(net::steady_timer::time_point::max());
      co_await call->timer.async_wait(net::redirect_error(net::use_awaitable, call->ec));
      if (!call->needs_coroutine()) call->pump();  // a pump found the coroutine busy: events wait
    }
    if (call->stop_upstream) {  // the response has ended with it
      api.dispatcher().cancel(id, CancelReason::stop_sequence);
      call->stop_upstream = false;
    }
    if (call->peer_gone) {
      stop_watch();
      if (!call->response->ended()) api.dispatcher().cancel(id, CancelReason::client_gone);
      co_return false;
    }
    if (!call->unwritten.empty()) {
      const std::string bytes = std::exchange(call->unwritten, {});
      co_await net::async_write(*s, net::buffer(bytes), net::redirect_error(net::use_awaitable, call->ec));
      if (call->ec) {
        call->peer_gone = true;
        continue;
      }
      if (call->response->ended()) call->observe_overhead();
    }
    if (call->response->ended()) break;
    call->pump();  // events that came while the coroutine wrote
  }
  // Let the other connections' queued events go out before this one's clean-up
  // (a step's events arrive together).
  co_await net::post(ex, net::use_awaitable);
  stop_watch();
  co_return call->response->keep_alive();
}

}  // namespace tt::router
