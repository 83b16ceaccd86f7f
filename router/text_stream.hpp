// Turns a stream of committed token ids into the text sent to a client, with
// OpenAI stop sequences applied router-side: text is released only when it can
// no longer become part of a stop sequence or of an unfinished UTF-8 character,
// so the concatenated deltas always equal the final text.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace tt::router {

class TextStream {
public:
  // `decode` maps all tokens so far to text (e.g. Tokenizer::decode, which
  // renders an unfinished UTF-8 sequence at the end as U+FFFD).
  using Decoder = std::function<std::string(std::span<const int32_t>)>;
  TextStream(Decoder decode, std::vector<std::string> stop);

  struct Delta {
    std::string text;      // new text to send (may be empty)
    bool stopped = false;  // a stop sequence matched: text ends before it, nothing follows
  };
  // Adds tokens; `last` when no more tokens will come (everything held back is released).
  Delta add(std::span<const int32_t> tokens, bool last);

  const std::vector<int32_t>& tokens() const { return tokens_; }
  const std::string& text() const { return sent_; }  // everything released so far
  bool stopped() const { return stopped_; }

private:
  Decoder decode_;
  std::vector<std::string> stop_;
  std::vector<int32_t> tokens_;
  std::string sent_;
  bool stopped_ = false;
};

}  // namespace tt::router
