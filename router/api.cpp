// Endpoint routing, authentication and the simple endpoints (see api.hpp).
#include "router/api.hpp"

#include <algorithm>
#include <vector>

#include "monitoring/exposition.hpp"
#include "monitoring/registry.hpp"
#include "monitoring/metrics.hpp"
#include "monitoring/names.hpp"
#include "router/dispatcher.hpp"
#include "router/openai_format.hpp"

namespace tt::router {
namespace {

using json = nlohmann::json;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// Same time whatever the key: no timing oracle for guessing it.
bool same_key(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  return diff == 0;
}

}  // namespace

bool router_exports(std::string_view f) {
  return f.starts_with("twotower_router_") || f.starts_with("twotower_cluster_");
}

Api::Api(ModelLimits limits, ApiOptions options, Dispatcher& dispatcher, mon::Registry& registry,
         mon::Metrics& metrics)
    : limits_(std::move(limits)), options_(std::move(options)), dispatcher_(dispatcher), registry_(registry),
      metrics_(metrics) {
  created_ = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

HttpResponse Api::json_response(unsigned status, const std::string& body, unsigned version, bool keep_alive) const {
  HttpResponse res{static_cast<http::status>(status), version};
  res.set(http::field::server, "twotower-router");
  res.set(http::field::content_type, "application/json");
  res.keep_alive(keep_alive);
  res.body() = body;
  res.prepare_payload();
  return res;
}

HttpResponse Api::error(const ApiError& e, unsigned version, bool keep_alive) const {
  auto res = json_response(static_cast<unsigned>(e.status), dump(e.to_json()), version, keep_alive);
  if (e.status == 401) res.set(http::field::www_authenticate, "Bearer");
  return res;
}

Generation Api::to_generation(const CompletionParams& p) const {
  Generation g;
  g.prompt = p.prompt;
  g.mode = p.mode;
  g.max_tokens = p.max_tokens;
  g.gamma = p.gamma;
  g.block_size = p.block_size;
  g.steps = p.steps_per_block;
  g.temperature = p.temperature;
  g.seed = p.seed;
  g.ignore_eos = p.ignore_eos;
  g.user = p.user;
  g.timeout = options_.timeout;
  return g;
}

std::variant<HttpResponse, CompletionCall> Api::route(const HttpRequest& req) {
  const unsigned v = req.version();
  const bool ka = req.keep_alive();
  std::string_view target(req.target().data(), req.target().size());
  target = target.substr(0, target.find('?'));
  const bool get = req.method() == http::verb::get;
  const bool post = req.method() == http::verb::post;
  auto text = [&](unsigned status, std::string body, std::string_view type) {
    HttpResponse res{static_cast<http::status>(status), v};
    res.set(http::field::content_type, boost::beast::string_view(type.data(), type.size()));
    res.keep_alive(ka);
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
  };
  auto wrong_method = [&](const char* allowed) {
    auto res = error(ApiError{405, "method " + std::string(req.method_string()) + " is not allowed on " +
                                       std::string(target) + " (use " + allowed + ")",
                              "invalid_request_error", "", "method_not_allowed"},
                     v, ka);
    res.set(http::field::allow, allowed);
    return res;
  };

  if (target == "/health") return get ? text(200, "{\"status\":\"ok\"}", "application/json") : wrong_method("GET");
  if (target == "/ready") {
    if (!get) return wrong_method("GET");
    const bool ready = dispatcher_.ready() && !dispatcher_.status().draining;
    return json_response(ready ? 200 : 503,
                         dump(json{{"ready", ready}, {"contexts_up", dispatcher_.status().backends_up.load()}}), v, ka);
  }
  if (target == "/metrics") {
    if (!get) return wrong_method("GET");
    // Only what a router records (not the context and denoiser families at zero).
    std::vector<mon::FamilySnapshot> families = registry_.snapshot();
    std::erase_if(families, [](const mon::FamilySnapshot& f) { return !router_exports(f.name); });
    return text(200, mon::render(families), mon::exposition_content_type);
  }
  if (!starts_with(target, "/v1/")) return error(not_found("no such endpoint: " + std::string(target)), v, ka);

  if (!options_.api_key.empty()) {
    const auto auth = req[http::field::authorization];
    const std::string_view a(auth.data(), auth.size());
    if (!starts_with(a, "Bearer ") || !same_key(a.substr(7), options_.api_key))
      return error(ApiError{401, a.empty() ? "missing API key (send Authorization: Bearer KEY)" : "invalid API key",
                            "invalid_request_error", "", "invalid_api_key"},
                   v, ka);
  }
  if (target == "/v1/models") return get ? json_response(200, dump(model_list(limits_.model_name, created_)), v, ka)
                                         : wrong_method("GET");
  if (starts_with(target, "/v1/models/")) {
    if (!get) return wrong_method("GET");
    if (target.substr(11) != limits_.model_name)
      return error(not_found("The model '" + std::string(target.substr(11)) + "' does not exist", "model_not_found"), v,
                   ka);
    return json_response(200, dump(model_object(limits_.model_name, created_)), v, ka);
  }
  const bool chat = target == "/v1/chat/completions";
  if (!chat && target != "/v1/completions") return error(not_found("no such endpoint: " + std::string(target)), v, ka);
  if (!post) return wrong_method("POST");
  json body = json::parse(req.body(), nullptr, false);
  auto reject = [&](const ApiError& e) {
    const bool too_long = e.code == "context_length_exceeded";
    metrics_.rejections.with({"reason", too_long ? mon::names::reason::prompt_too_long
                                                 : mon::names::reason::invalid_request})
        .inc();
    return error(e, v, ka);
  };
  if (body.is_discarded()) return reject(bad_request("the request body is not valid JSON", "", "invalid_json"));
  auto parsed = parse_completion(body, limits_, chat);
  if (auto* e = std::get_if<ApiError>(&parsed)) return reject(*e);
  return CompletionCall{std::move(std::get<CompletionParams>(parsed))};
}

}  // namespace tt::router
