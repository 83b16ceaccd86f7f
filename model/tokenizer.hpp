// Byte-level BPE tokenizer read from a Hugging Face `tokenizer.json`
// (CHECKPOINT.md §7). It reproduces HF `tokenizers` token for token for the
// Nemotron-3-Nano / Tekken family:
//   added tokens (literal, leftmost-longest, lstrip/rstrip/single_word/normalized)
//   -> pre_tokenizer from the JSON (Sequence / Split(Regex, Isolated) / ByteLevel)
//   -> BPE by merge rank (ignore_merges, unk) -> post_processor (TemplateProcessing,
//   ByteLevel, Sequence) ; decode: ByteLevel decoder + lossy UTF-8.
// Anything the file asks for that is not implemented is rejected at load()
// with a tt::Error naming the file and the field.
//
// Regexes in the file are written for Oniguruma (HF's engine); they run on
// PCRE2 after a rewrite that makes \s, \w, \d, \h and \p{..} match exactly the
// code points Oniguruma matches (tokenizer_regex.cpp, tokenizer_unicode.cpp).
//
// A Tokenizer is immutable after load(); copies share state and every method
// is safe to call from several threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tt {

class Tokenizer {
public:
  // Reads and validates `path` (a tokenizer.json). Throws tt::Error.
  static Tokenizer load(const std::string& path);

  // Token ids of `text` (must be valid UTF-8, else tt::Error). With
  // add_special_tokens the post_processor's template is applied (e.g. "<s>").
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = true) const;

  // Text of `ids`, as HF's Tokenizer.decode: ids outside the vocabulary are
  // dropped, special ids are dropped when skip_special_tokens, and byte
  // sequences that are not valid UTF-8 become U+FFFD.
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens = true) const;
  // decode(a ++ b) == decode(a) + decode(b) whenever decode(a) ends with a
  // complete character: true for the ByteLevel decoder (per-token bytes), false
  // when tokens are joined with spaces.
  bool decode_concatenates() const;

  // Model vocab + added tokens (max id + 1).
  int vocab_size() const;
  // Added tokens first, then the model vocab (raw byte-level strings, e.g. "Ġthe").
  std::optional<int32_t> token_to_id(std::string_view token) const;
  // Raw vocab string of `id`; tt::Error when no token has that id.
  std::string id_to_token(int32_t id) const;
  bool is_special(int32_t id) const;

  struct Impl;

private:
  explicit Tokenizer(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

}  // namespace tt
