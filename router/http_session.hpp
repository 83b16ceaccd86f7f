// One HTTP/1.1 connection (keep-alive): read a request, answer it through
// Api, or run a completion (completion_call.hpp); runs on the connection's strand.
#pragma once

#include <chrono>
#include <memory>

#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>

namespace tt::router {

class Api;
using StreamPtr = std::shared_ptr<boost::beast::tcp_stream>;

boost::asio::awaitable<void> serve_connection(StreamPtr stream, Api& api);

// Runs one completion to its end; false when the connection must close.
// `read` is when its request was read off the socket (its arrival).
struct CompletionCall;
boost::asio::awaitable<bool> run_completion(StreamPtr stream, Api& api, CompletionCall call, unsigned version,
                                            bool keep_alive, std::chrono::steady_clock::time_point read);

}  // namespace tt::router
