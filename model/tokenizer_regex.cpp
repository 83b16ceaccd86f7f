// PCRE2 wrapper and the added-token trie used by the tokenizer.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "model/byte_level.hpp"
#include "model/error.hpp"
#include "model/tokenizer_impl.hpp"

namespace tt::tokenizer_detail {

namespace {

// The JIT needs its own stack for long subjects (e.g. a megabyte of one
// character class); one grows lazily per thread up to 64 MiB.
struct JitStack {
  pcre2_match_context* ctx = nullptr;
  pcre2_jit_stack* stack = nullptr;
  JitStack() {
    ctx = pcre2_match_context_create(nullptr);
    stack = pcre2_jit_stack_create(64 * 1024, 64 * 1024 * 1024, nullptr);
    if (ctx && stack) pcre2_jit_stack_assign(ctx, nullptr, stack);
  }
  ~JitStack() {
    if (stack) pcre2_jit_stack_free(stack);
    if (ctx) pcre2_match_context_free(ctx);
  }
};

pcre2_match_context* thread_match_context() {
  thread_local JitStack js;
  return js.ctx;
}

struct MatchData {
  pcre2_match_data* md;
  explicit MatchData(const pcre2_code* code) : md(pcre2_match_data_create_from_pattern(code, nullptr)) {
    if (!md) throw Error("tokenizer: out of memory creating PCRE2 match data");
  }
  ~MatchData() { pcre2_match_data_free(md); }
};

}  // namespace

struct Regex::Code {
  pcre2_code* code = nullptr;
  bool jit = false;
  std::string where;
  ~Code() {
    if (code) pcre2_code_free(code);
  }
  int match(std::string_view s, size_t offset, uint32_t options, pcre2_match_data* md) const {
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(s.data());
    options |= PCRE2_NO_UTF_CHECK;  // callers validate UTF-8 once per encode
    return pcre2_match(code, subject, s.size(), offset, options, md, thread_match_context());
  }
  [[noreturn]] void fail(int rc) const {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(rc, msg, sizeof msg);
    throw Error(where + ": regex match failed: " + reinterpret_cast<const char*>(msg));
  }
};

Regex::Regex(const std::string& pattern, const std::string& where, bool literal) : code_(std::make_unique<Code>()) {
  code_->where = where;
  int err = 0;
  PCRE2_SIZE err_off = 0;
  uint32_t options = PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK;
  if (literal) options |= PCRE2_LITERAL;
  if (utf8::first_invalid(pattern) != std::string::npos) throw Error(where + ": pattern is not valid UTF-8");
  code_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options, &err, &err_off,
                              nullptr);
  if (!code_->code) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    throw Error(where + ": cannot compile regex at offset " + std::to_string(err_off) + ": " +
                reinterpret_cast<const char*>(msg));
  }
  code_->jit = pcre2_jit_compile(code_->code, PCRE2_JIT_COMPLETE) == 0;
}

Regex::~Regex() = default;
Regex::Regex(Regex&&) noexcept = default;
Regex& Regex::operator=(Regex&&) noexcept = default;

void Regex::find_all(std::string_view s, std::vector<std::pair<size_t, size_t>>& out) const {
  MatchData md(code_->code);
  size_t pos = 0;
  while (pos <= s.size()) {
    const int rc = code_->match(s, pos, 0, md.md);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) code_->fail(rc);
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.md);
    const size_t start = ov[0], end = ov[1];
    if (end > start) {
      out.emplace_back(start, end);
      pos = end;
    } else {  // empty match: step over one character
      if (start >= s.size()) break;
      size_t len = utf8::sequence_length(s, start);
      pos = start + (len ? len : 1);
    }
  }
}

bool Regex::matches_at(std::string_view s, size_t offset) const {
  MatchData md(code_->code);
  const int rc = code_->match(s, offset, PCRE2_ANCHORED, md.md);
  if (rc == PCRE2_ERROR_NOMATCH) return false;
  if (rc < 0) code_->fail(rc);
  return true;
}

void TokenTrie::add(std::string_view text, int32_t value) {
  if (text.empty()) return;
  int32_t node = 0;
  for (unsigned char c : text) {
    const uint64_t key = (static_cast<uint64_t>(node) << 8) | c;
    auto it = next_.find(key);
    if (it == next_.end()) {
      const auto child = static_cast<int32_t>(terminal_.size());
      terminal_.push_back(-1);
      it = next_.emplace(key, child).first;
    }
    node = it->second;
  }
  terminal_[node] = value;
  first_[static_cast<unsigned char>(text[0])] = true;
  ++n_patterns_;
}

int32_t TokenTrie::find(std::string_view s, size_t from, size_t* start, size_t* end) const {
  if (n_patterns_ == 0) return -1;
  for (size_t p = from; p < s.size(); ++p) {
    if (!first_[static_cast<unsigned char>(s[p])]) continue;
    int32_t node = 0, best = -1;
    size_t best_end = 0;
    for (size_t q = p; q < s.size(); ++q) {
      const auto it = next_.find((static_cast<uint64_t>(node) << 8) | static_cast<unsigned char>(s[q]));
      if (it == next_.end()) break;
      node = it->second;
      if (terminal_[node] >= 0) {
        best = terminal_[node];
        best_end = q + 1;
      }
    }
    if (best >= 0) {
      *start = p;
      *end = best_end;
      return best;
    }
  }
  return -1;
}

}  // namespace tt::tokenizer_detail
