// PCRE2 wrapper and the added-token trie used by the tokenizer.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>

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

constexpr std::string_view kWhiteSpace = R"(\t-\r \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000})";

// Class members (no brackets) for \p{cat} as Oniguruma sees it.
std::string category_members(std::string_view cat) {
  std::string out = "\\p{" + std::string(cat) + "}";
  out += unicode_extra_ranges(cat);
  return out;
}

// Class members for the shorthand escapes whose Oniguruma meaning differs from
// PCRE2's (\s: White_Space, PCRE2 adds U+180E; \w: Alphabetic|M|Nd|Pc and ²³¹¼½¾
// where PCRE2 10.42 has L|N|_; \d: Nd; \h: hex digit, not horizontal space).
std::string shorthand_members(char c) {
  switch (c) {
    case 's': return std::string(kWhiteSpace);
    case 'w':  // Oniguruma: Alphabetic|M|Nd|Pc, plus six Latin-1 No characters (measured)
      return category_members("Alphabetic") + category_members("M") + category_members("Nd") +
             category_members("Pc") + "\\x{b2}\\x{b3}\\x{b9}\\x{bc}-\\x{be}";
    case 'd': return category_members("Nd");
    case 'h': return "0-9a-fA-F";
    default: return {};
  }
}

}  // namespace

// Rewrites a pattern written for Oniguruma (what HF tokenizers compiles) so
// PCRE2 matches the same characters: \s \S \w \W \d \D \h \H become explicit
// classes and \p{cat} / \P{cat} gain the code points Oniguruma's newer Unicode
// data assigns to that category. Negated forms inside a [...] class cannot be
// expressed in PCRE2 and are left as they are.
std::string onig_compatible_pattern(std::string_view pat, bool* class_only) {
  bool only = true;
  std::string out;
  out.reserve(pat.size() + 64);
  bool in_class = false;
  for (size_t i = 0; i < pat.size();) {
    const char c = pat[i];
    if (c == '\\' && i + 1 < pat.size()) {
      const char d = pat[i + 1];
      if (d == 'Q') {  // \Q...\E literal run
        const size_t end = pat.find("\\E", i + 2);
        const size_t stop = end == std::string_view::npos ? pat.size() : end + 2;
        out.append(pat.substr(i, stop - i));
        i = stop;
        continue;
      }
      const char lower = static_cast<char>(d | 0x20);
      const bool negated = d >= 'A' && d <= 'Z';
      if (lower == 's' || lower == 'w' || lower == 'd' || lower == 'h') {
        if (lower != 's') only = false;  // PCRE2's \w \d \h differ on more than the divergent set
        const std::string members = shorthand_members(lower);
        if (!negated) {
          out += in_class ? members : "[" + members + "]";
        } else if (!in_class) {
          out += "[^" + members + "]";
        } else {
          out.append(pat.substr(i, 2));
        }
        i += 2;
        continue;
      }
      if (lower == 'p') {
        size_t stop;
        std::string_view name;
        bool neg = negated;
        if (i + 2 < pat.size() && pat[i + 2] == '{') {
          const size_t close = pat.find('}', i + 3);
          if (close == std::string_view::npos) {
            out.append(pat.substr(i));  // let PCRE2 report it
            break;
          }
          name = pat.substr(i + 3, close - i - 3);
          if (!name.empty() && name.front() == '^') {
            neg = !neg;
            name.remove_prefix(1);
          }
          stop = close + 1;
        } else {
          // Oniguruma (Ruby syntax) reads \pN without braces as the letter p.
          only = false;
          out += d;
          i += 2;
          continue;
        }
        const std::string_view extra = unicode_extra_ranges(name);
        if (extra.empty() || (neg && in_class)) {
          out.append(pat.substr(i, stop - i));
        } else {
          const std::string members = category_members(name);
          out += in_class ? members : (neg ? "[^" : "[") + members + "]";
        }
        i = stop;
        continue;
      }
      out.append(pat.substr(i, 2));  // any other escape, copied whole
      i += 2;
      continue;
    }
    if (!in_class && c == '[') {
      in_class = true;
      out += c;
      ++i;
      if (i < pat.size() && pat[i] == '^') out += pat[i++];
      if (i < pat.size() && pat[i] == ']') out += pat[i++];  // leading ']' is literal
      continue;
    }
    if (in_class && c == '[' && i + 1 < pat.size() && pat[i + 1] == ':') {  // [:posix:]
      const size_t close = pat.find(":]", i + 2);
      const size_t stop = close == std::string_view::npos ? i + 1 : close + 2;
      out.append(pat.substr(i, stop - i));
      i = stop;
      continue;
    }
    if (in_class && c == ']') in_class = false;
    out += c;
    ++i;
  }
  if (class_only) *class_only = only;
  return out;
}

namespace {

// Code points where a class in the original pattern may match differently
// under PCRE2 than under Oniguruma: every extra range of the Unicode table and
// U+180E (\s). Text free of them can use the original (faster) pattern.
class Divergent {
public:
  Divergent() {
    static constexpr std::string_view kCategories[] = {"C",  "Cc", "Cf", "Cn", "Co", "Cs", "L",  "Ll", "Lm", "Lo",
                                                       "Lt", "Lu", "M",  "Mc", "Me", "Mn", "N",  "Nd", "Nl", "No",
                                                       "P",  "Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps", "S",  "Sc",
                                                       "Sk", "Sm", "So", "Z",  "Zl", "Zp", "Zs", "Alphabetic"};
    add(0x180E, 0x180E);
    for (std::string_view cat : kCategories) parse(unicode_extra_ranges(cat));
    std::sort(ranges_.begin(), ranges_.end());
  }
  bool contains(uint32_t cp) const {
    if (!(blocks_[cp >> 8 >> 6] >> ((cp >> 8) & 63) & 1)) return false;
    auto it = std::upper_bound(ranges_.begin(), ranges_.end(), std::make_pair(cp, UINT32_MAX));
    return it != ranges_.begin() && std::prev(it)->second >= cp;
  }
  // True if `s` (valid UTF-8) holds a divergent code point. All of them are
  // at or above U+0800, so only 3- and 4-byte sequences are decoded.
  bool any_in(std::string_view s) const {
    for (size_t i = 0; i < s.size();) {
      const auto b = static_cast<unsigned char>(s[i]);
      if (b < 0xE0) {
        i += b < 0x80 ? 1 : b < 0xC0 ? 1 : 2;
        continue;
      }
      size_t len = 0;
      const uint32_t cp = utf8::decode_at(s, i, &len);
      if (len == 0) return true;  // not expected for validated input; be exact
      if (contains(cp)) return true;
      i += len;
    }
    return false;
  }

private:
  void add(uint32_t a, uint32_t b) {
    ranges_.emplace_back(a, b);
    for (uint32_t blk = a >> 8; blk <= b >> 8; ++blk) blocks_[blk >> 6] |= uint64_t{1} << (blk & 63);
  }
  // Parses the table's "\x{a}-\x{b}\x{c}..." strings.
  void parse(std::string_view r) {
    auto hex = [&](size_t& i) {
      const size_t close = r.find('}', i);
      const uint32_t v = static_cast<uint32_t>(std::stoul(std::string(r.substr(i + 3, close - i - 3)), nullptr, 16));
      i = close + 1;
      return v;
    };
    for (size_t i = 0; i < r.size();) {
      const uint32_t a = hex(i);
      uint32_t b = a;
      if (i < r.size() && r[i] == '-') {
        ++i;
        b = hex(i);
      }
      add(a, b);
    }
  }
  std::vector<std::pair<uint32_t, uint32_t>> ranges_;
  uint64_t blocks_[0x1100 / 64] = {};
};

const Divergent& divergent() {
  static const Divergent d;
  return d;
}

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

namespace {

std::unique_ptr<Regex::Code> compile(const std::string& pattern, uint32_t options, const std::string& where) {
  auto code = std::make_unique<Regex::Code>();
  code->where = where;
  int err = 0;
  PCRE2_SIZE err_off = 0;
  code->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options, &err, &err_off,
                             nullptr);
  if (!code->code) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    throw Error(where + ": cannot compile regex (PCRE2, at offset " + std::to_string(err_off) + "): " +
                reinterpret_cast<const char*>(msg));
  }
  code->jit = pcre2_jit_compile(code->code, PCRE2_JIT_COMPLETE) == 0;
  return code;
}

}  // namespace

Regex::Regex(const std::string& pattern, const std::string& where, bool literal) {
  uint32_t options = PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK;
  if (utf8::first_invalid(pattern) != std::string::npos) throw Error(where + ": pattern is not valid UTF-8");
  if (literal) {
    code_ = compile(pattern, options | PCRE2_LITERAL, where);
    return;
  }
  // Report syntax errors against the pattern as written in the file.
  fast_ = compile(pattern, options, where);
  bool class_only = false;
  const std::string exact = onig_compatible_pattern(pattern, &class_only);
  if (exact == pattern) {
    code_ = std::move(fast_);
  } else {
    code_ = compile(exact, options, where + " (Oniguruma-compatible rewrite)");
    if (!class_only) fast_.reset();
  }
}

Regex::~Regex() = default;
Regex::Regex(Regex&&) noexcept = default;
Regex& Regex::operator=(Regex&&) noexcept = default;

void Regex::find_all(std::string_view s, std::vector<std::pair<size_t, size_t>>& out) const {
  // The original pattern differs from the exact rewrite only on divergent code
  // points, so text without any can take the faster original.
  const Code& code = fast_ && !divergent().any_in(s) ? *fast_ : *code_;
  MatchData md(code.code);
  size_t pos = 0;
  while (pos <= s.size()) {
    const int rc = code.match(s, pos, 0, md.md);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) code.fail(rc);
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
