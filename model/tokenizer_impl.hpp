// Internal state of tt::Tokenizer, shared by tokenizer*.cpp. Not a public API.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "model/tokenizer.hpp"

namespace tt::tokenizer_detail {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using StringMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

// Oniguruma -> PCRE2 pattern rewrite (tokenizer_regex.cpp) and the generated
// table of code points newer Unicode data adds to a general category
// (tokenizer_unicode.cpp; empty for unknown names).
// *class_only is set to false when the rewrite changed more than class
// membership on the code points of the divergent set (see tokenizer_regex.cpp).
std::string onig_compatible_pattern(std::string_view pattern, bool* class_only = nullptr);
std::string_view unicode_extra_ranges(std::string_view category);

// A compiled PCRE2 pattern (UTF + UCP, JIT when available). Patterns are
// written for Oniguruma (HF's engine) and pass through onig_compatible_pattern.
class Regex {
public:
  // `where` names the file and field for error messages.
  Regex(const std::string& pattern, const std::string& where, bool literal = false);
  ~Regex();
  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Appends the [start, end) byte spans of every non-overlapping match in
  // `subject` (which must be valid UTF-8). Empty matches are skipped.
  void find_all(std::string_view subject, std::vector<std::pair<size_t, size_t>>& out) const;
  // True when the pattern matches at exactly `offset` (anchored there).
  bool matches_at(std::string_view subject, size_t offset) const;

  struct Code;

private:
  std::unique_ptr<Code> code_;  // exact (Oniguruma-compatible) pattern
  std::unique_ptr<Code> fast_;  // original pattern, when it is exact on non-divergent text
};

// Leftmost-longest, non-overlapping literal matcher over added tokens (what
// HF builds with aho-corasick MatchKind::LeftmostLongest).
class TokenTrie {
public:
  void add(std::string_view text, int32_t value);
  // First match starting at or after `from`: sets [*start, *end) and returns
  // its value, or returns -1 when there is none.
  int32_t find(std::string_view s, size_t from, size_t* start, size_t* end) const;
  bool empty() const { return n_patterns_ == 0; }

private:
  std::vector<int32_t> terminal_{-1};                   // node -> value or -1
  std::unordered_map<uint64_t, int32_t> next_;          // (node << 8 | byte) -> node
  bool first_[256] = {};
  size_t n_patterns_ = 0;
};

struct AddedToken {
  std::string content;
  int32_t id = 0;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
  bool special = false;
};

struct PreStep {
  enum class Kind { Split, ByteLevel } kind = Kind::Split;
  std::shared_ptr<Regex> regex;   // Split pattern, or GPT-2 regex when ByteLevel.use_regex
  bool add_prefix_space = false;  // ByteLevel
};

}  // namespace tt::tokenizer_detail

namespace tt {

struct Tokenizer::Impl {
  std::string path;

  // Model (BPE).
  tokenizer_detail::StringMap vocab;  // byte-level string -> id
  std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges;  // (a << 32 | b) -> (rank, merged id)
  std::vector<int32_t> small_char_id;  // code point < 0x800 -> id of that single char, -1 if none
  bool ignore_merges = false;
  int32_t unk_id = -1;
  bool fuse_unk = false;

  // Added tokens, split into the two HF matching passes.
  std::vector<tokenizer_detail::AddedToken> added;
  tokenizer_detail::StringMap added_ids;        // content -> id
  tokenizer_detail::TokenTrie trie_raw;         // normalized == false (matched first)
  tokenizer_detail::TokenTrie trie_normalized;  // normalized == true
  std::unique_ptr<tokenizer_detail::Regex> word_char;  // Rust regex \w, for single_word

  std::vector<tokenizer_detail::PreStep> pre_steps;

  // Post-processor (single sequence).
  std::vector<int32_t> post_prefix, post_suffix;

  // Decoder.
  enum class Decoder { None, ByteLevel } decoder = Decoder::None;

  // Per-id tables (size vocab_size).
  std::vector<std::string> id_token;  // content (added tokens override the model vocab)
  std::vector<uint8_t> id_valid, id_special;

  // Encoding helpers (tokenizer_encode.cpp).
  struct EncodeState;
  void encode_text(std::string_view text, EncodeState& st) const;
  void pre_tokenize(size_t step, std::string_view piece, EncodeState& st) const;
  void bpe_word(std::string_view word, EncodeState& st) const;
  int32_t char_id(std::string_view ch) const;
};

}  // namespace tt
