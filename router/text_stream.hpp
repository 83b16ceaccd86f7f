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
  // `concatenates`: decode(a ++ b) == decode(a) + decode(b) when decode(a)
  // ends with a complete character (byte-level BPE); then only the tokens
  // after the last such boundary are decoded again on each add.
  TextStream(Decoder decode, std::vector<std::string> stop, bool concatenates = false);

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
  bool concatenates_;
  std::vector<int32_t> tokens_;
  size_t clean_tokens_ = 0;  // tokens_[0, clean_tokens_) decode to clean_text_, no unfinished character
  std::string clean_text_;
  std::string sent_;
  bool stopped_ = false;
};

}  // namespace tt::router
