// Runs one completion on its connection: submits it to the dispatcher, waits
// for its events on the connection's strand, applies stop sequences, and
// answers with one JSON body or an SSE stream. A client that goes away (the
// socket becomes readable with nothing to read) cancels the generation upstream.
#include <deque>
#include <limits>

#include <boost/asio/post.hpp>
#include <utility>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>

#include "model/tokenizer.hpp"
#include "router/api.hpp"
#include "router/dispatcher.hpp"
#include "router/http_session.hpp"
#include "router/openai_format.hpp"
#include "router/text_stream.hpp"

namespace tt::router {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
using json = nlohmann::json;

// Events handed over from CAF threads; the timer wakes the waiting coroutine.
struct Inbox {
  explicit Inbox(const net::any_io_executor& ex) : timer(ex) {}
  std::deque<GenerationEvent> events;
  net::steady_timer timer;
  bool peer_gone = false;
};

void watch_peer(const StreamPtr& s, const std::shared_ptr<Inbox>& inbox) {
  s->socket().async_wait(net::ip::tcp::socket::wait_read, [s, inbox](beast::error_code ec) {
    if (ec == net::error::operation_aborted) return;
    beast::error_code ec2;
    if (ec || s->socket().available(ec2) == 0 || ec2) {
      inbox->peer_gone = true;
      inbox->timer.cancel();
    }
  });
}

}  // namespace

net::awaitable<bool> run_completion(StreamPtr s, Api& api, CompletionCall call, unsigned version, bool keep_alive) {
  const CompletionParams& p = call.params;
  auto ex = co_await net::this_coro::executor;
  auto inbox = std::make_shared<Inbox>(ex);
  const uint64_t id = api.dispatcher().submit(api.to_generation(p), [inbox, ex](GenerationEvent&& e) {
    net::post(ex, [inbox, e = std::move(e)]() mutable {
      inbox->events.push_back(std::move(e));
      inbox->timer.cancel();
    });
  });
  watch_peer(s, inbox);
  const Tokenizer* tok = api.limits().tokenizer;
  TextStream text([tok](std::span<const int32_t> ids) { return tok ? tok->decode(ids, true) : std::string(); }, p.stop);
  const ResponseMeta meta = make_meta(id, api.limits().model_name, p.chat);
  Usage usage;
  usage.prompt_tokens = static_cast<int>(p.prompt.size());
  usage.mode = p.mode;
  beast::error_code ec;
  bool header_sent = false;
  std::string finish;
  auto stop_watch = [&] {
    beast::error_code ignored;
    s->socket().cancel(ignored);
  };
  auto send = [&](const std::string& data) -> net::awaitable<bool> {
    co_await net::async_write(*s, http::make_chunk(net::buffer(data)), net::redirect_error(net::use_awaitable, ec));
    co_return !ec;
  };

  for (;;) {
    while (inbox->events.empty() && !inbox->peer_gone) {
      inbox->timer.expires_at(net::steady_timer::time_point::max());
      co_await inbox->timer.async_wait(net::redirect_error(net::use_awaitable, ec));
    }
    if (inbox->peer_gone) {
      api.dispatcher().cancel(id, CancelReason::client_gone);
      co_return false;
    }
    GenerationEvent e = std::move(inbox->events.front());
    inbox->events.pop_front();
    if (e.kind == EventKind::failed) {
      stop_watch();
      ApiError err{e.status, e.message, e.error_type, "", e.code};
      if (!header_sent) {
        auto res = api.error(err, version, keep_alive);
        if (e.retry_after_s > 0) res.set(http::field::retry_after, std::to_string(e.retry_after_s));
        co_await http::async_write(*s, res, net::redirect_error(net::use_awaitable, ec));
        co_return keep_alive && !ec;
      }
      // Mid-stream: an error event, then the end of the stream.
      if (!co_await send(sse_event(err.to_json())) || !co_await send(sse_done)) co_return false;
      co_await net::async_write(*s, http::make_chunk_last(), net::redirect_error(net::use_awaitable, ec));
      co_return keep_alive && !ec;
    }
    usage.completion_tokens += static_cast<int>(e.tokens.size());
    usage.denoiser_forwards = e.denoiser_forwards;
    usage.context_forwards = e.context_forwards;
    bool last = e.kind == EventKind::finished;
    const auto delta = text.add(e.tokens, last);
    if (delta.stopped) {
      if (!last) api.dispatcher().cancel(id, CancelReason::stop_sequence);
      last = true;
      finish = "stop";
    } else if (last) {
      finish = finish_name(e.finish);
    }
    if (p.stream) {
      if (!header_sent) {
        http::response<http::empty_body> head{http::status::ok, version};
        head.set(http::field::server, "twotower-router");
        head.set(http::field::content_type, "text/event-stream");
        head.set(http::field::cache_control, "no-cache");
        head.chunked(true);
        head.keep_alive(keep_alive);
        http::response_serializer<http::empty_body> sr{head};
        co_await http::async_write_header(*s, sr, net::redirect_error(net::use_awaitable, ec));
        if (ec) {
          if (!last) api.dispatcher().cancel(id, CancelReason::client_gone);
          co_return false;
        }
      }
      if (!delta.text.empty() || last || !header_sent) {
        const auto chunk = completion_chunk(meta, delta.text, last ? finish : "", last ? &usage : nullptr, !header_sent);
        if (!co_await send(sse_event(chunk))) {
          if (!last) api.dispatcher().cancel(id, CancelReason::client_gone);
          co_return false;
        }
      }
      header_sent = true;
    }
    if (last) break;
  }
  stop_watch();
  if (p.stream) {
    if (!co_await send(sse_done)) co_return false;
    co_await net::async_write(*s, http::make_chunk_last(), net::redirect_error(net::use_awaitable, ec));
    co_return keep_alive && !ec;
  }
  const auto body = completion_body(meta, text.text(), finish, usage);
  auto res = api.json_response(200, body.dump(-1, ' ', false, json::error_handler_t::replace), version, keep_alive);
  co_await http::async_write(*s, res, net::redirect_error(net::use_awaitable, ec));
  co_return keep_alive && !ec;
}

}  // namespace tt::router
