// The HTTP endpoints of the router, minus the transport: a request in, a
// response out, or a completion for the session to run (completion_call.hpp).
//   POST /v1/completions, POST /v1/chat/completions, GET /v1/models[/{id}],
//   GET /health, GET /ready, GET /metrics
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <variant>

#include <boost/beast/http.hpp>

#include "router/api_error.hpp"
#include "router/completion_request.hpp"
#include "router/generation.hpp"

namespace tt::mon {
class Registry;
struct Metrics;
}  // namespace tt::mon

namespace tt::router {

class Dispatcher;

namespace http = boost::beast::http;
using HttpRequest = http::request<http::string_body>;
using HttpResponse = http::response<http::string_body>;

struct ApiOptions {
  std::string api_key;  // empty: no authentication
  std::chrono::milliseconds timeout{300000};  // per-request deadline (504 after)
  size_t max_body_bytes = 1 << 20;            // larger bodies: 413
};

struct CompletionCall {
  CompletionParams params;
};

// The families a router's /metrics exports: router and cluster (peer) ones.
bool router_exports(std::string_view family);

class Api {
public:
  Api(ModelLimits limits, ApiOptions options, Dispatcher& dispatcher, mon::Registry& registry, mon::Metrics& metrics);

  std::variant<HttpResponse, CompletionCall> route(const HttpRequest& req);

  HttpResponse error(const ApiError& e, unsigned version, bool keep_alive) const;
  HttpResponse json_response(unsigned status, const std::string& body, unsigned version, bool keep_alive) const;
  Generation to_generation(const CompletionParams& p) const;

  Dispatcher& dispatcher() { return dispatcher_; }
  const ModelLimits& limits() const { return limits_; }
  const ApiOptions& options() const { return options_; }
  mon::Metrics& metrics() { return metrics_; }

private:
  ModelLimits limits_;
  ApiOptions options_;
  Dispatcher& dispatcher_;
  mon::Registry& registry_;
  mon::Metrics& metrics_;
  int64_t created_ = 0;
};

}  // namespace tt::router
