// Parsing completion bodies: defaults, every field, and one clear 400/404 for
// each kind of bad input (never an exception).
#include "router/completion_request.hpp"

#include <gtest/gtest.h>

#include "model/tokenizer.hpp"
#include "router/chat_template.hpp"

namespace tt::router {
namespace {

using json = nlohmann::json;

class CompletionRequestTest : public ::testing::Test {
protected:
  CompletionRequestTest() : tok_(Tokenizer::load(std::string(TWOTOWER_TEST_SOURCE) + "/models/default/tokenizer.json")) {
    limits_.model_name = "default";
    limits_.context_limit = 64;
    limits_.vocab_size = tok_.vocab_size();
    limits_.tokenizer = &tok_;
  }
  ParsedCompletion parse(const json& body, bool chat = false) { return parse_completion(body, limits_, chat); }
  CompletionParams ok(const json& body, bool chat = false) {
    auto p = parse(body, chat);
    if (auto* e = std::get_if<ApiError>(&p)) ADD_FAILURE() << body.dump() << " -> " << e->message;
    return std::holds_alternative<CompletionParams>(p) ? std::get<CompletionParams>(p) : CompletionParams{};
  }
  ApiError bad(const json& body, bool chat = false) {
    auto p = parse(body, chat);
    if (std::holds_alternative<CompletionParams>(p)) {
      ADD_FAILURE() << body.dump() << " was accepted";
      return {};
    }
    return std::get<ApiError>(p);
  }
  Tokenizer tok_;
  ModelLimits limits_;
};

TEST_F(CompletionRequestTest, DefaultsAreGreedyDiffusionOfSixteenTokens) {
  const auto p = ok({{"model", "default"}, {"prompt", "Once upon a time"}});
  EXPECT_EQ(p.prompt, tok_.encode("Once upon a time", true));
  EXPECT_EQ(p.max_tokens, 16);
  EXPECT_EQ(p.temperature, 0.0f);
  EXPECT_EQ(p.mode, msg::request_mode::diffusion);
  EXPECT_EQ(p.block_size, 16);
  EXPECT_EQ(p.steps_per_block, 16);
  EXPECT_FLOAT_EQ(p.gamma, 0.8f);
  EXPECT_FALSE(p.stream);
  EXPECT_TRUE(p.stop.empty());
}

TEST_F(CompletionRequestTest, EveryFieldIsRead) {
  const auto p = ok({{"model", "default"}, {"prompt", json::array({5, 6, 7})}, {"max_tokens", 9},
                     {"temperature", 0.5}, {"seed", 42}, {"stop", json::array({"a", "bc"})}, {"stream", true},
                     {"user", "u1"}, {"mode", "mock-ar"}, {"gamma", 0.9}, {"block_size", 8},
                     {"steps_per_block", 4}, {"ignore_eos", true}, {"n", 1}, {"logprobs", nullptr},
                     {"unknown_field", "ignored"}});
  EXPECT_EQ(p.prompt, (std::vector<int32_t>{5, 6, 7}));
  EXPECT_EQ(p.max_tokens, 9);
  EXPECT_FLOAT_EQ(p.temperature, 0.5f);
  EXPECT_EQ(p.seed, 42u);
  EXPECT_EQ(p.stop, (std::vector<std::string>{"a", "bc"}));
  EXPECT_TRUE(p.stream);
  EXPECT_EQ(p.user, "u1");
  EXPECT_EQ(p.mode, msg::request_mode::mock_ar);
  EXPECT_FLOAT_EQ(p.gamma, 0.9f);
  EXPECT_EQ(p.block_size, 8);
  EXPECT_EQ(p.steps_per_block, 4);
  EXPECT_TRUE(p.ignore_eos);
  EXPECT_FALSE(ok({{"model", "default"}, {"prompt", "x"}}).ignore_eos);
  EXPECT_EQ(ok({{"model", "default"}, {"prompt", "x"}, {"mode", "ar"}, {"stop", "s"}}).stop,
            std::vector<std::string>{"s"});
  EXPECT_EQ(ok({{"model", "default"}, {"prompt", json::array({json::array({1, 2})})}}).prompt,
            (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(ok({{"model", "default"}, {"prompt", json::array({"hi"})}}).prompt, tok_.encode("hi", true));
}

TEST_F(CompletionRequestTest, BadFieldsNameTheParameter) {
  const json base{{"model", "default"}, {"prompt", "hi"}};
  auto with = [&](const char* k, json v) {
    json b = base;
    b[k] = std::move(v);
    return b;
  };
  struct Case {
    json body;
    std::string param, code;
  };
  const std::vector<Case> cases{
      {json::array({1}), "", "invalid_body"},
      {json{{"prompt", "hi"}}, "model", "missing_required_parameter"},
      {with("model", 3), "model", "invalid_type"},
      {json{{"model", "default"}}, "prompt", "missing_required_parameter"},
      {with("prompt", 5), "prompt", "invalid_type"},
      {with("prompt", ""), "prompt", "invalid_value"},
      {with("prompt", json::array()), "prompt", "invalid_value"},
      {with("prompt", json::array({1, "a"})), "prompt", "invalid_type"},
      {with("prompt", json::array({-1})), "prompt", "out_of_range"},
      {with("prompt", json::array({1 << 20})), "prompt", "out_of_range"},
      {with("prompt", json::array({"a", "b"})), "prompt", "unsupported"},
      {with("max_tokens", "8"), "max_tokens", "invalid_type"},
      {with("max_tokens", 0), "max_tokens", "out_of_range"},
      {with("max_tokens", 1.5), "max_tokens", "invalid_type"},
      {with("temperature", -0.1), "temperature", "out_of_range"},
      {with("temperature", 2.5), "temperature", "out_of_range"},
      {with("temperature", "hot"), "temperature", "invalid_type"},
      {with("seed", -1), "seed", "out_of_range"},
      {with("seed", "1"), "seed", "invalid_type"},
      {with("stop", 3), "stop", "invalid_type"},
      {with("stop", ""), "stop", "invalid_value"},
      {with("stop", json::array({"a", "b", "c", "d", "e"})), "stop", "out_of_range"},
      {with("stream", "yes"), "stream", "invalid_type"},
      {with("user", 7), "user", "invalid_type"},
      {with("n", 2), "n", "unsupported"},
      {with("logprobs", 3), "logprobs", "unsupported"},
      {with("mode", "fast"), "mode", "invalid_value"},
      {with("gamma", 0), "gamma", "out_of_range"},
      {with("gamma", 1.5), "gamma", "out_of_range"},
      {with("block_size", 0), "block_size", "out_of_range"},
      {with("steps_per_block", 257), "steps_per_block", "out_of_range"},
      {with("ignore_eos", 1), "ignore_eos", "invalid_type"},
      {with("max_tokens", 64), "prompt", "context_length_exceeded"},
  };
  for (const auto& c : cases) {
    const ApiError e = bad(c.body);
    EXPECT_EQ(e.status, 400) << c.body.dump();
    EXPECT_EQ(e.param, c.param) << c.body.dump();
    EXPECT_EQ(e.code, c.code) << c.body.dump();
    EXPECT_FALSE(e.message.empty());
    const json j = e.to_json();
    EXPECT_TRUE(j["error"].contains("message") && j["error"].contains("type") && j["error"].contains("param") &&
                j["error"].contains("code"));
  }
}

TEST_F(CompletionRequestTest, AnUnknownModelIsNotFound) {
  const ApiError e = bad({{"model", "gpt-4"}, {"prompt", "hi"}});
  EXPECT_EQ(e.status, 404);
  EXPECT_EQ(e.code, "model_not_found");
}

TEST_F(CompletionRequestTest, ChatUsesThePlainTemplateAndStopsAtTheNextUserTurn) {
  const json msgs = json::array({{{"role", "system"}, {"content", "Be brief."}},
                                 {{"role", "user"}, {"content", json::array({{{"type", "text"}, {"text", "Hi"}}})}},
                                 {{"role", "assistant"}, {"content", "Hello."}},
                                 {{"role", "user"}, {"content", "Again"}}});
  const auto p = ok({{"model", "default"}, {"messages", msgs}}, true);
  EXPECT_TRUE(p.chat);
  EXPECT_EQ(p.prompt, tok_.encode("System: Be brief.\nUser: Hi\nAssistant: Hello.\nUser: Again\nAssistant:", true));
  EXPECT_EQ(p.stop, std::vector<std::string>{chat_default_stop});
  EXPECT_EQ(ok({{"model", "default"}, {"messages", msgs}, {"stop", "."}}, true).stop, std::vector<std::string>{"."});
  EXPECT_EQ(ok({{"model", "default"}, {"messages", msgs}, {"max_completion_tokens", 3}}, true).max_tokens, 3);
  for (const json& m : {json(nullptr), json("hi"), json::array(), json::array({1}), json::array({{{"role", "bot"}}}),
                        json::array({{{"role", "user"}, {"content", 5}}})}) {
    const ApiError e = bad({{"model", "default"}, {"messages", m}}, true);
    EXPECT_EQ(e.status, 400) << m.dump();
    EXPECT_EQ(e.param, "messages") << m.dump();
  }
}

}  // namespace
}  // namespace tt::router
