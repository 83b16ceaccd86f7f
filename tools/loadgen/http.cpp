// HTTP/1.1 response and request parsing, SSE event splitting.
#include "tools/loadgen/http.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "model/error.hpp"

namespace tt::capacity {
namespace {

constexpr size_t kMaxLine = 64 * 1024;

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return std::string(s);
}

size_t parse_size(const std::string& s, int base, const char* what) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s.c_str(), &end, base);
  if (s.empty() || (*end != '\0' && *end != ';' && *end != ' ') || v > (1ull << 40))
    throw Error(std::string("HTTP: bad ") + what + " '" + s + "'");
  return static_cast<size_t>(v);
}

}  // namespace

bool ResponseParser::line(std::string_view data, size_t& pos, std::string& out) {
  const size_t nl = data.find('\n', pos);
  if (nl == std::string_view::npos) {
    line_.append(data.substr(pos));
    pos = data.size();
    if (line_.size() > kMaxLine) throw Error("HTTP: header line too long");
    return false;
  }
  line_.append(data.substr(pos, nl - pos));
  pos = nl + 1;
  if (!line_.empty() && line_.back() == '\r') line_.pop_back();
  out.swap(line_);
  line_.clear();
  return true;
}

void ResponseParser::end_headers() {
  auto te = headers_.find("transfer-encoding");
  auto cl = headers_.find("content-length");
  if (auto c = headers_.find("connection"); c != headers_.end()) keep_alive_ = lower(c->second) != "close";
  if (te != headers_.end() && lower(te->second).find("chunked") != std::string::npos) {
    state_ = State::chunk_size;
  } else if (cl != headers_.end()) {
    remaining_ = parse_size(cl->second, 10, "Content-Length");
    state_ = remaining_ ? State::body_length : State::done;
  } else if (status_ == 204 || status_ == 304) {
    state_ = State::done;
  } else {
    keep_alive_ = false;
    state_ = State::until_close;
  }
}

size_t ResponseParser::feed(std::string_view data) {
  size_t pos = 0;
  std::string l;
  while (pos < data.size() && state_ != State::done) {
    switch (state_) {
      case State::status_line:
        if (!line(data, pos, l)) break;
        if (l.rfind("HTTP/1.", 0) != 0 || l.size() < 12) throw Error("HTTP: bad status line '" + l.substr(0, 80) + "'");
        status_ = std::atoi(l.c_str() + 9);
        keep_alive_ = l.compare(0, 8, "HTTP/1.0") != 0;
        state_ = State::headers;
        break;
      case State::headers:
        if (!line(data, pos, l)) break;
        if (l.empty()) {
          end_headers();
        } else {
          const auto colon = l.find(':');
          if (colon == std::string::npos) throw Error("HTTP: bad header line '" + l.substr(0, 80) + "'");
          headers_[lower(l.substr(0, colon))] = trim(std::string_view(l).substr(colon + 1));
        }
        break;
      case State::body_length:
      case State::chunk_data: {
        const size_t n = std::min(remaining_, data.size() - pos);
        on_body_(data.substr(pos, n));
        pos += n;
        remaining_ -= n;
        if (remaining_ == 0) state_ = state_ == State::body_length ? State::done : State::chunk_crlf;
        break;
      }
      case State::chunk_size:
        if (!line(data, pos, l)) break;
        remaining_ = parse_size(trim(l), 16, "chunk size");
        state_ = remaining_ ? State::chunk_data : State::trailers;
        break;
      case State::chunk_crlf:
        if (!line(data, pos, l)) break;
        if (!l.empty()) throw Error("HTTP: chunk not followed by CRLF");
        state_ = State::chunk_size;
        break;
      case State::trailers:
        if (!line(data, pos, l)) break;
        if (l.empty()) state_ = State::done;
        break;
      case State::until_close:
        on_body_(data.substr(pos));
        pos = data.size();
        break;
      case State::done: break;
    }
  }
  return pos;
}

void ResponseParser::on_eof() {
  if (state_ == State::until_close) state_ = State::done;
  else if (state_ != State::done) throw Error("HTTP: connection closed before the response was complete");
}

bool parse_request(std::string& buffer, HttpRequest& out) {
  const size_t end = buffer.find("\r\n\r\n");
  if (end == std::string::npos) {
    if (buffer.size() > kMaxLine) throw Error("HTTP: request header too long");
    return false;
  }
  const std::string head = buffer.substr(0, end);
  const size_t eol = head.find("\r\n");
  const std::string first = head.substr(0, eol);
  const size_t sp1 = first.find(' '), sp2 = first.rfind(' ');
  if (sp1 == std::string::npos || sp2 == sp1) throw Error("HTTP: bad request line");
  out.method = first.substr(0, sp1);
  out.target = first.substr(sp1 + 1, sp2 - sp1 - 1);
  out.keep_alive = first.compare(sp2 + 1, std::string::npos, "HTTP/1.0") != 0;
  size_t length = 0;
  size_t pos = eol == std::string::npos ? head.size() : eol + 2;
  while (pos < head.size()) {
    size_t next = head.find("\r\n", pos);
    if (next == std::string::npos) next = head.size();
    const std::string h = head.substr(pos, next - pos);
    const auto colon = h.find(':');
    if (colon != std::string::npos) {
      const std::string name = lower(h.substr(0, colon)), value = trim(std::string_view(h).substr(colon + 1));
      if (name == "content-length") length = parse_size(value, 10, "Content-Length");
      if (name == "connection") out.keep_alive = lower(value) != "close";
      if (name == "transfer-encoding") throw Error("HTTP: chunked request bodies are not supported");
    }
    pos = next + 2;
  }
  if (buffer.size() < end + 4 + length) return false;
  out.body = buffer.substr(end + 4, length);
  buffer.erase(0, end + 4 + length);
  return true;
}

void SseParser::feed(std::string_view bytes) {
  pending_.append(bytes);
  size_t pos = 0;
  while (true) {
    const size_t nl = pending_.find('\n', pos);
    if (nl == std::string::npos) break;
    std::string_view l(pending_.data() + pos, nl - pos);
    pos = nl + 1;
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (l.empty()) {
      if (has_data_) on_data_(data_);
      data_.clear();
      has_data_ = false;
    } else if (l.rfind("data:", 0) == 0) {
      l.remove_prefix(5);
      if (!l.empty() && l.front() == ' ') l.remove_prefix(1);
      if (has_data_) data_ += '\n';
      data_.append(l);
      has_data_ = true;
    }  // comments (":") and other fields (event:, id:, retry:) carry nothing we measure
  }
  pending_.erase(0, pos);
}

}  // namespace tt::capacity
