// The router's HTTP API against real processes (context + denoiser + router on
// loopback) and a real HTTP client: results equal `generate --connect`,
// streaming, chat, stop sequences, every endpoint and error path, API keys.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tests/router/router_fixture.hpp"

namespace tt::test {
namespace {

using json = nlohmann::json;
// A prose opening (the default model continues it at length; a fortune's last
// line it would end at once). Tests that need a length ask for it with ignore_eos.
const std::string kPrompt = "In the beginning";
const json kExact{{"ignore_eos", true}};

json completion(const std::string& prompt, int max_tokens, json extra = json::object()) {
  json j{{"model", "default"}, {"prompt", prompt}, {"max_tokens", max_tokens}};
  j.update(extra);
  return j;
}

void expect_error(const HttpResult& r, int status, const std::string& code) {
  EXPECT_EQ(r.status, status) << r.body;
  const auto j = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.body;
  ASSERT_TRUE(j.contains("error")) << r.body;
  for (const char* k : {"message", "type", "param", "code"}) EXPECT_TRUE(j["error"].contains(k)) << k << r.body;
  EXPECT_EQ(j["error"]["code"], code) << r.body;
  EXPECT_FALSE(j["error"]["message"].get<std::string>().empty());
}

TEST_F(RouterTest, CompletionEqualsGenerateConnect) {
  start_context();
  start_router();
  for (const char* mode : {"diffusion", "ar"}) {
    const auto truth = generate_connect({"--prompt", kPrompt, "--max-tokens", "40", "--mode", mode});
    HttpClient c(port_);
    const auto r = c.post("/v1/completions", completion(kPrompt, 40, {{"mode", mode}}).dump());
    ASSERT_EQ(r.status, 200) << r.body;
    const auto j = json::parse(r.body);
    EXPECT_EQ(j["object"], "text_completion");
    EXPECT_EQ(j["model"], "default");
    EXPECT_TRUE(j["id"].get<std::string>().rfind("cmpl-", 0) == 0);
    EXPECT_TRUE(j["created"].is_number_integer());
    const auto& choice = j["choices"][0];
    EXPECT_EQ(choice["index"], 0);
    EXPECT_TRUE(choice["logprobs"].is_null());
    EXPECT_EQ(choice["text"], truth["text"]) << mode;
    EXPECT_EQ(choice["finish_reason"], truth["finish_reason"]) << mode;
    EXPECT_EQ(j["usage"]["prompt_tokens"], truth["prompt_tokens"]);
    EXPECT_EQ(j["usage"]["completion_tokens"], truth["generated_tokens"]);
    EXPECT_EQ(j["usage"]["total_tokens"], truth["prompt_tokens"].get<int>() + truth["generated_tokens"].get<int>());
    EXPECT_EQ(j["twotower"]["denoiser_forwards"], truth["denoiser_forwards"]) << mode;
    EXPECT_EQ(j["twotower"]["context_forwards"], truth["context_forwards"]) << mode;
    EXPECT_DOUBLE_EQ(j["twotower"]["tokens_per_forward"].get<double>(), truth["tokens_per_forward"].get<double>());
  }
  // Token ids in, same text out.
  const auto truth = generate_connect({"--prompt-ids", "1,300,301,302", "--max-tokens", "16"});
  const auto r = HttpClient(port_).post("/v1/completions",
                                        json{{"model", "default"}, {"prompt", {1, 300, 301, 302}}, {"max_tokens", 16}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["choices"][0]["text"], truth["text"]);
}

TEST_F(RouterTest, StreamIsOneEventPerChunkAndEqualsTheWholeAnswer) {
  start_context();
  start_router();
  HttpClient c(port_);
  const auto whole = json::parse(c.post("/v1/completions", completion(kPrompt, 48, kExact).dump()).body);
  const auto head =
      c.start_stream("/v1/completions", completion(kPrompt, 48, {{"stream", true}, {"ignore_eos", true}}).dump());
  ASSERT_EQ(head.status, 200);
  EXPECT_EQ(head.headers.at("Content-Type"), "text/event-stream");
  const auto events = c.all_events();
  const Streamed s = gather(events);
  EXPECT_TRUE(s.done);
  EXPECT_EQ(events.back(), "[DONE]");
  EXPECT_EQ(s.text, whole["choices"][0]["text"]);
  EXPECT_GE(s.chunks, 2u);  // 48 tokens are three blocks of 16
  for (size_t i = 0; i + 2 < events.size(); ++i) {
    const auto j = json::parse(events[i]);
    EXPECT_TRUE(j["choices"][0]["finish_reason"].is_null());
    EXPECT_EQ(j["id"], s.last["id"]);
  }
  EXPECT_EQ(s.last["choices"][0]["finish_reason"], whole["choices"][0]["finish_reason"]);
  EXPECT_EQ(s.last["usage"], whole["usage"]);
  // The connection is kept alive after a stream.
  EXPECT_EQ(c.get("/health").status, 200);
}

TEST_F(RouterTest, ChatCompletionsUseThePlainTemplate) {
  start_context();
  start_router();
  const json body{{"model", "default"},
                  {"messages", {{{"role", "user"}, {"content", "Tell me a story."}}}},
                  {"max_tokens", 24},
                  {"stop", json::array()}};
  const auto truth = generate_connect({"--prompt", "User: Tell me a story.\nAssistant:", "--max-tokens", "24"});
  HttpClient c(port_);
  const auto r = c.post("/v1/chat/completions", body.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const auto j = json::parse(r.body);
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(j["choices"][0]["message"]["content"], truth["text"]);
  json streamed = body;
  streamed["stream"] = true;
  ASSERT_EQ(c.start_stream("/v1/chat/completions", streamed.dump()).status, 200);
  const auto events = c.all_events();
  const auto first = json::parse(events.front());
  EXPECT_EQ(first["object"], "chat.completion.chunk");
  EXPECT_EQ(first["choices"][0]["delta"]["role"], "assistant");
  EXPECT_EQ(gather(events, true).text, truth["text"]);
}

// A prompt after which the model ends the text (a fortune's last line): without
// ignore_eos the completion stops at EOS; with it, it runs to max_tokens and
// equals `generate --connect --ignore-eos`.
TEST_F(RouterTest, IgnoreEosRunsToMaxTokens) {
  start_context();
  start_router();
  HttpClient c(port_);
  std::string ending;
  for (const char* p : {"A fool and his money are soon parted.", "He who laughs last laughs best.", "Amen."}) {
    const auto r = json::parse(c.post("/v1/completions", completion(p, 24, {{"mode", "ar"}}).dump()).body);
    if (r["choices"][0]["finish_reason"] == "stop" && r["usage"]["completion_tokens"].get<int>() < 24) {
      ending = p;
      break;
    }
  }
  ASSERT_FALSE(ending.empty()) << "no candidate prompt ends before 24 tokens with this model";
  for (const char* mode : {"ar", "diffusion"}) {
    const auto truth = generate_connect({"--prompt", ending, "--max-tokens", "24", "--mode", mode, "--ignore-eos"});
    EXPECT_EQ(truth["generated_tokens"], 24) << mode;
    const auto r = json::parse(
        c.post("/v1/completions", completion(ending, 24, {{"mode", mode}, {"ignore_eos", true}}).dump()).body);
    EXPECT_EQ(r["choices"][0]["finish_reason"], "length") << mode;
    EXPECT_EQ(r["usage"]["completion_tokens"], 24) << mode;
    EXPECT_EQ(r["choices"][0]["text"], truth["text"]) << mode;
  }
}

TEST_F(RouterTest, StopSequencesCutTheTextAndEndTheGeneration) {
  start_context();
  start_router();
  HttpClient c(port_);
  const std::string full =
      json::parse(c.post("/v1/completions", completion(kPrompt, 64, kExact).dump()).body)["choices"][0]["text"];
  ASSERT_GT(full.size(), 40u);
  const std::string stop = full.substr(30, 5);
  const std::string expected = full.substr(0, full.find(stop));
  const auto r =
      json::parse(c.post("/v1/completions", completion(kPrompt, 64, {{"stop", stop}, {"ignore_eos", true}}).dump()).body);
  EXPECT_EQ(r["choices"][0]["text"], expected);
  EXPECT_EQ(r["choices"][0]["finish_reason"], "stop");
  EXPECT_LT(r["usage"]["completion_tokens"].get<int>(), 64);
  ASSERT_EQ(c.start_stream("/v1/completions", completion(kPrompt, 64, {{"stop", {"zzzz", stop}}, {"stream", true}, {"ignore_eos", true}}).dump()).status, 200);
  const Streamed s = gather(c.all_events());
  EXPECT_EQ(s.text, expected);
  EXPECT_EQ(s.last["choices"][0]["finish_reason"], "stop");
  EXPECT_TRUE(s.done);
  // Stopped early is an ok outcome, not a cancellation. The stream's outcome may be recorded just
  // after its last event reached us: give it a moment.
  for (int i = 0; i < 50 && metric("twotower_router_requests_total{outcome=\"ok\"}") < 3; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(metric("twotower_router_requests_total{outcome=\"ok\"}"), 3);
  EXPECT_EQ(metric("twotower_router_requests_total{outcome=\"cancelled\"}"), 0);
}

TEST_F(RouterTest, EndpointsAnswer) {
  start_context();
  start_router();
  HttpClient c(port_);
  EXPECT_EQ(c.get("/health").status, 200);
  const auto ready = c.get("/ready");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(json::parse(ready.body)["contexts_up"], 1);
  const auto models = json::parse(c.get("/v1/models").body);
  EXPECT_EQ(models["object"], "list");
  EXPECT_EQ(models["data"][0]["id"], "default");
  EXPECT_EQ(json::parse(c.get("/v1/models/default").body)["id"], "default");
  expect_error(c.get("/v1/models/other"), 404, "model_not_found");
  ASSERT_EQ(c.post("/v1/completions", completion(kPrompt, 16, kExact).dump()).status, 200);
  const auto m = c.get("/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.headers.at("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  // Only the router's own families (and peer events): no context or denoiser series at zero.
  EXPECT_NE(m.body.find("# TYPE twotower_router_overhead_seconds histogram"), std::string::npos);
  EXPECT_NE(m.body.find("twotower_cluster_peer_events_total"), std::string::npos);
  for (const char* other : {"twotower_context_", "twotower_denoiser_", "twotower_engine_", "twotower_cache_"})
    EXPECT_EQ(m.body.find(other), std::string::npos) << other;
  EXPECT_EQ(metric("twotower_router_requests_total{outcome=\"ok\"}"), 1);
  EXPECT_EQ(metric("twotower_router_generation_tokens_total"), 16);
  EXPECT_GE(metric("twotower_router_prompt_tokens_total"), 1);
  EXPECT_EQ(metric("twotower_router_time_to_first_token_seconds_count"), 1);
  EXPECT_EQ(metric("twotower_router_request_duration_seconds_count"), 1);
  EXPECT_EQ(metric("twotower_router_queue_time_seconds_count"), 1);
  EXPECT_EQ(metric("twotower_router_tokens_per_denoiser_forward_count"), 1);
  EXPECT_EQ(metric("twotower_router_requests_running"), 0);
  EXPECT_EQ(metric("twotower_router_requests_waiting"), 0);
}

TEST_F(RouterTest, BadRequestsGetOneClearErrorAndNeverCrashTheRouter) {
  start_context();
  start_router({"--max-body-bytes", "4096"});
  HttpClient c(port_);
  expect_error(c.post("/v1/completions", "{not json"), 400, "invalid_json");
  expect_error(c.post("/v1/completions", "[1,2]"), 400, "invalid_body");
  expect_error(c.post("/v1/completions", completion(kPrompt, 4, {{"max_tokens", "four"}}).dump()), 400, "invalid_type");
  expect_error(c.post("/v1/completions", completion(kPrompt, 4, {{"temperature", -1}}).dump()), 400, "out_of_range");
  expect_error(c.post("/v1/completions", completion(kPrompt, 4, {{"prompt", {1, 99999}}}).dump()), 400, "out_of_range");
  expect_error(c.post("/v1/completions", completion(kPrompt, 5000).dump()), 400, "context_length_exceeded");
  expect_error(c.post("/v1/completions", completion(kPrompt, 4, {{"model", "gpt-4"}}).dump()), 404, "model_not_found");
  expect_error(c.post("/v1/nothing", "{}"), 404, "not_found");
  expect_error(c.get("/v1/completions"), 405, "method_not_allowed");
  expect_error(c.post("/v1/completions", "\xff\xfe"), 400, "invalid_json");
  expect_error(c.post("/v1/completions", completion(std::string("\xff\xfe"), 4).dump(-1, ' ', false,
                                                                                     json::error_handler_t::ignore)),
               400, "invalid_value");
  // Still alive on the same connection.
  EXPECT_EQ(c.post("/v1/completions", completion(kPrompt, 4).dump()).status, 200);
  // Oversize body: 413, then the connection closes.
  HttpClient big(port_);
  expect_error(big.post("/v1/completions", completion(std::string(10000, 'a'), 4).dump()), 413, "body_too_large");
  EXPECT_EQ(metric("twotower_router_rejections_total{reason=\"invalid_request\"}"), 9);
  EXPECT_EQ(metric("twotower_router_rejections_total{reason=\"prompt_too_long\"}"), 1);
  EXPECT_EQ(HttpClient(port_).get("/health").status, 200);
}

TEST_F(RouterTest, AnApiKeyIsRequiredWhenConfigured) {
  start_context();
  start_router({"--api-key", "sekret"});
  HttpClient c(port_);
  const auto body = completion(kPrompt, 4).dump();
  expect_error(c.post("/v1/completions", body), 401, "invalid_api_key");
  expect_error(c.post("/v1/completions", body, {{"Authorization", "Bearer wrong"}}), 401, "invalid_api_key");
  expect_error(c.get("/v1/models", {{"Authorization", "sekret"}}), 401, "invalid_api_key");
  EXPECT_EQ(c.post("/v1/completions", body, {{"Authorization", "Bearer sekret"}}).status, 200);
  EXPECT_EQ(c.get("/v1/models", {{"Authorization", "Bearer sekret"}}).status, 200);
  EXPECT_EQ(c.get("/health").status, 200);  // probes stay open
  EXPECT_EQ(c.get("/metrics").status, 200);
}

}  // namespace
}  // namespace tt::test
