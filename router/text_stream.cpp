// Incremental detokenization with stop sequences (see text_stream.hpp).
#include "router/text_stream.hpp"

#include <algorithm>

namespace tt::router {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the longest suffix of `text` that is a proper prefix of some stop.
size_t partial_stop_tail(const std::string& text, const std::vector<std::string>& stops) {
  size_t best = 0;
  for (const auto& s : stops)
    for (size_t n = std::min(s.size() - 1, text.size()); n > best; --n)
      if (text.compare(text.size() - n, n, s, 0, n) == 0) {
        best = n;
        break;
      }
  return best;
}

}  // namespace

TextStream::TextStream(Decoder decode, std::vector<std::string> stop, bool concatenates)
    : decode_(std::move(decode)), stop_(std::move(stop)), concatenates_(concatenates) {
  stop_.erase(std::remove_if(stop_.begin(), stop_.end(), [](const std::string& s) { return s.empty(); }), stop_.end());
}

TextStream::Delta TextStream::add(std::span<const int32_t> tokens, bool last) {
  Delta d;
  if (stopped_) return d;
  tokens_.insert(tokens_.end(), tokens.begin(), tokens.end());
  // Decoding is per byte, so the text of a longer prefix extends the shorter
  // one, except for a character still incomplete at the end. Only the tokens
  // after the last clean boundary are decoded again (not the whole stream on
  // every chunk, which made long streams quadratic).
  const std::string tail = decode_(std::span<const int32_t>(tokens_).subspan(clean_tokens_));
  std::string full = clean_text_ + tail;
  if (full.compare(0, sent_.size(), sent_) != 0) full = sent_ + full.substr(std::min(sent_.size(), full.size()));
  const bool unfinished = tail.size() >= kReplacement.size() &&
                          tail.compare(tail.size() - kReplacement.size(), kReplacement.size(), kReplacement) == 0;
  if (concatenates_ && !unfinished) clean_tokens_ = tokens_.size(), clean_text_ = full;
  // The earliest stop sequence that ends in the new text.
  size_t cut = std::string::npos;
  for (const auto& s : stop_) {
    const size_t from = sent_.size() >= s.size() ? sent_.size() - s.size() + 1 : 0;
    const size_t at = full.find(s, from);
    if (at != std::string::npos) cut = std::min(cut, at);
  }
  if (cut != std::string::npos) {
    d.text = full.substr(sent_.size(), cut > sent_.size() ? cut - sent_.size() : 0);
    d.stopped = stopped_ = true;
    sent_ += d.text;
    return d;
  }
  size_t end = full.size();
  if (!last) {
    // An unfinished character decodes as U+FFFD for now: wait for its other bytes.
    while (end >= sent_.size() + kReplacement.size() &&
           full.compare(end - kReplacement.size(), kReplacement.size(), kReplacement) == 0)
      end -= kReplacement.size();
    end -= std::min(end - sent_.size(), partial_stop_tail(full.substr(0, end), stop_));
  }
  d.text = full.substr(sent_.size(), end - sent_.size());
  sent_ += d.text;
  return d;
}

}  // namespace tt::router
