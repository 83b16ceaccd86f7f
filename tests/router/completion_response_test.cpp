// CompletionResponse: the exact bytes of a completion's HTTP response, event
// by event, read back with Beast's own parser (so the chunked framing is
// checked by an independent implementation).
#include "router/completion_response.hpp"

#include <gtest/gtest.h>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace tt::router {
namespace {

namespace http = boost::beast::http;
using json = nlohmann::json;

// Token i decodes to the letter 'a' + i % 26.
std::string letters(std::span<const int32_t> ids) {
  std::string s;
  for (int32_t id : ids) s += static_cast<char>('a' + id % 26);
  return s;
}

std::string render(unsigned status, const std::string& body, int retry) {
  std::string r = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\n";
  if (retry > 0) r += "Retry-After: " + std::to_string(retry) + "\r\n";
  return r + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

CompletionParams params(bool stream, std::vector<std::string> stop = {}) {
  CompletionParams p;
  p.prompt = {1, 2, 3};
  p.max_tokens = 8;
  p.stream = stream;
  p.stop = std::move(stop);
  return p;
}

CompletionResponse make(const CompletionParams& p) {
  return CompletionResponse(p, make_meta(7, "m", false), letters, true, render, 11, true);
}

GenerationEvent tokens(std::vector<int32_t> ids, bool finished = false) {
  GenerationEvent e;
  e.kind = finished ? EventKind::finished : EventKind::tokens;
  e.finish = finished ? msg::finish_reason::length : msg::finish_reason::running;
  e.tokens = std::move(ids);
  e.context_forwards = 3;
  e.ingress_s = 0.25;
  return e;
}

GenerationEvent failure(int status, const std::string& code, int retry = 0) {
  GenerationEvent e;
  e.kind = EventKind::failed;
  e.status = status;
  e.code = code;
  e.message = "went wrong";
  e.retry_after_s = retry;
  return e;
}

// Feeds each group of events as one add(); returns every byte written.
std::string feed(CompletionResponse& r, std::vector<std::vector<GenerationEvent>> groups,
                 std::vector<size_t>* sizes = nullptr) {
  std::string all;
  for (auto& g : groups) {
    const auto out = r.add(g);
    if (sizes) sizes->push_back(out.bytes.size());
    all += out.bytes;
  }
  return all;
}

struct Parsed {
  unsigned status = 0;
  std::map<std::string, std::string> headers;
  std::string body;
  bool complete = false;
};

Parsed parse(const std::string& bytes) {
  http::response_parser<http::string_body> p;
  p.eager(true);
  boost::beast::error_code ec;
  const size_t used = p.put(boost::asio::buffer(bytes), ec);
  Parsed r;
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(used, bytes.size()) << "bytes after the end of the response";
  r.complete = p.is_done();
  r.status = p.get().result_int();
  for (const auto& f : p.get()) r.headers[std::string(f.name_string())] = std::string(f.value());
  r.body = p.get().body();
  return r;
}

std::vector<json> sse_events(const std::string& body, bool* done) {
  std::vector<json> out;
  *done = false;
  for (size_t at = 0; at < body.size();) {
    const size_t end = body.find("\n\n", at);
    EXPECT_NE(end, std::string::npos);
    if (end == std::string::npos) break;
    const std::string e = body.substr(at, end - at);
    EXPECT_EQ(e.rfind("data: ", 0), 0u) << e;
    if (e == "data: [DONE]") *done = true;
    else out.push_back(json::parse(e.substr(6)));
    at = end + 2;
  }
  return out;
}

TEST(CompletionResponse, StreamIsOneValidChunkedSseResponse) {
  auto r = make(params(true));
  std::vector<size_t> sizes;
  const std::string bytes = feed(r, {{tokens({0, 1})}, {tokens({2})}, {tokens({3}, true)}}, &sizes);
  EXPECT_TRUE(r.ended());
  const Parsed p = parse(bytes);
  EXPECT_TRUE(p.complete);
  EXPECT_EQ(p.status, 200u);
  EXPECT_EQ(p.headers.at("Content-Type"), "text/event-stream");
  EXPECT_EQ(p.headers.at("Transfer-Encoding"), "chunked");
  bool done = false;
  const auto events = sse_events(p.body, &done);
  EXPECT_TRUE(done);
  ASSERT_EQ(events.size(), 3u);
  std::string text;
  for (const auto& e : events) text += e["choices"][0]["text"].get<std::string>();
  EXPECT_EQ(text, "abcd");
  EXPECT_TRUE(events[0]["choices"][0]["finish_reason"].is_null());
  EXPECT_EQ(events[2]["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(events[2]["usage"]["completion_tokens"], 4);
  EXPECT_EQ(events[2]["usage"]["prompt_tokens"], 3);
  for (size_t s : sizes) EXPECT_GT(s, 0u);
  EXPECT_DOUBLE_EQ(r.ingress_s(), 0.25);
}

TEST(CompletionResponse, EventsTakenTogetherLeaveInOneChunk) {
  auto r = make(params(true));
  const std::string bytes = feed(r, {{tokens({0}), tokens({1}), tokens({2}, true)}});
  const size_t head_end = bytes.find("\r\n\r\n") + 4;
  // head, one chunk (size line, data, CRLF), the last chunk
  const std::string rest = bytes.substr(head_end);
  const size_t size_end = rest.find("\r\n");
  const size_t size = std::stoul(rest.substr(0, size_end), nullptr, 16);
  EXPECT_EQ(rest.substr(size_end + 2 + size), "\r\n0\r\n\r\n");
  bool done = false;
  EXPECT_EQ(sse_events(parse(bytes).body, &done).size(), 3u);
  EXPECT_TRUE(done);
}

TEST(CompletionResponse, AStopSequenceEndsTheResponseAndAsksToStopUpstream) {
  auto r = make(params(true, {"cd"}));
  std::vector<GenerationEvent> g{tokens({0, 1, 2, 3, 4})};
  const auto out = r.add(g);
  EXPECT_TRUE(out.stop_upstream);
  EXPECT_TRUE(r.ended());
  bool done = false;
  const auto events = sse_events(parse(out.bytes).body, &done);
  EXPECT_TRUE(done);
  ASSERT_FALSE(events.empty());
  std::string text;
  for (const auto& e : events) text += e["choices"][0]["text"].get<std::string>();
  EXPECT_EQ(text, "ab");
  EXPECT_EQ(events.back()["choices"][0]["finish_reason"], "stop");
  // Whatever arrives after the end is ignored.
  std::vector<GenerationEvent> late{tokens({5}, true)};
  EXPECT_TRUE(r.add(late).bytes.empty());
}

TEST(CompletionResponse, AFailureBeforeAnyTokenIsAPlainHttpError) {
  auto r = make(params(true));
  const std::string bytes = feed(r, {{failure(429, "queue_full", 1)}});
  const Parsed p = parse(bytes);
  EXPECT_EQ(p.status, 429u);
  EXPECT_EQ(p.headers.at("Retry-After"), "1");
  EXPECT_EQ(json::parse(p.body)["error"]["code"], "queue_full");
  EXPECT_TRUE(r.ended());
}

TEST(CompletionResponse, AFailureMidStreamIsAnErrorEventThenTheEnd) {
  auto r = make(params(true));
  const std::string bytes = feed(r, {{tokens({0})}, {failure(504, "deadline_exceeded")}});
  const Parsed p = parse(bytes);
  EXPECT_TRUE(p.complete);
  EXPECT_EQ(p.status, 200u);
  bool done = false;
  const auto events = sse_events(p.body, &done);
  EXPECT_TRUE(done);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1]["error"]["code"], "deadline_exceeded");
}

TEST(CompletionResponse, AnHttp10StreamIsNotChunkedAndEndsWithTheConnection) {
  CompletionParams p = params(true);
  CompletionResponse r(p, make_meta(7, "m", false), letters, true, render, 10, true);
  std::vector<GenerationEvent> first{tokens({0})}, last{tokens({1}, true)};
  std::string bytes = r.add(first).bytes;
  bytes += r.add(last).bytes;
  EXPECT_FALSE(r.keep_alive());
  http::response_parser<http::string_body> parser;
  parser.eager(true);
  boost::beast::error_code ec;
  EXPECT_EQ(parser.put(boost::asio::buffer(bytes), ec), bytes.size());
  EXPECT_FALSE(ec) << ec.message();
  parser.put_eof(ec);  // the connection closes
  EXPECT_FALSE(ec) << ec.message();
  ASSERT_TRUE(parser.is_done());
  EXPECT_EQ(parser.get().version(), 10u);
  EXPECT_EQ(parser.get().count(http::field::transfer_encoding), 0u);
  bool done = false;
  const auto events = sse_events(parser.get().body(), &done);
  EXPECT_TRUE(done);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["choices"][0]["text"].get<std::string>() + events[1]["choices"][0]["text"].get<std::string>(),
            "ab");
}

TEST(CompletionResponse, WithoutStreamingOneJsonBodyAtTheEnd) {
  auto r = make(params(false));
  std::vector<GenerationEvent> first{tokens({0, 1})};
  EXPECT_TRUE(r.add(first).bytes.empty());
  std::vector<GenerationEvent> last{tokens({2}, true)};
  const Parsed p = parse(r.add(last).bytes);
  EXPECT_EQ(p.status, 200u);
  const auto body = json::parse(p.body);
  EXPECT_EQ(body["choices"][0]["text"], "abc");
  EXPECT_EQ(body["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(body["usage"]["completion_tokens"], 3);
}

}  // namespace
}  // namespace tt::router
