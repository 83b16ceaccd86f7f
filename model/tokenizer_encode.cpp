// Encoding and decoding for tt::Tokenizer (loading is in tokenizer.cpp).
#include <algorithm>

#include "model/byte_level.hpp"
#include "model/error.hpp"
#include "model/tokenizer_impl.hpp"

namespace tt {

using tokenizer_detail::AddedToken;
using tokenizer_detail::PreStep;
using tokenizer_detail::TokenTrie;

struct Tokenizer::Impl::EncodeState {
  std::vector<int32_t>* out = nullptr;
  // Word cache for this call: piece -> [offset, offset+len) into cache_ids.
  std::unordered_map<std::string, std::pair<uint32_t, uint32_t>, tokenizer_detail::StringHash, std::equal_to<>> cache;
  std::vector<int32_t> cache_ids;
  // Per pre-tokenizer step scratch: match spans and a text buffer.
  std::vector<std::vector<std::pair<size_t, size_t>>> spans;
  std::vector<std::string> text;
  // BPE scratch.
  struct Sym {
    int32_t id;
    int32_t prev, next;  // -1 at the ends; id == -1 marks a merged-away symbol
  };
  std::vector<Sym> syms;
  struct Cand {
    uint64_t key;                 // rank << 32 | position; smallest first
    int32_t new_id, left, right;  // left/right: the pair's ids when queued
    bool operator<(const Cand& o) const { return key > o.key; }  // std heap functions build a max-heap
  };
  std::vector<Cand> heap;
  std::vector<int32_t> word_ids;
};

namespace {

// Rust's regex \s* anchored at the end / start, as HF uses for lstrip/rstrip.
size_t space_leftmost_at_end(std::string_view s) {
  size_t left = s.size();
  while (left > 0) {
    size_t b = left - 1;
    while (b > 0 && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80) --b;
    size_t len = 0;
    const uint32_t cp = utf8::decode_at(s, b, &len);
    if (!len || !utf8::is_white_space(cp)) break;
    left = b;
  }
  return left;
}

size_t space_rightmost_at_start(std::string_view s) {
  size_t right = 0;
  while (right < s.size()) {
    size_t len = 0;
    const uint32_t cp = utf8::decode_at(s, right, &len);
    if (!len || !utf8::is_white_space(cp)) break;
    right += len;
  }
  return right;
}

struct Segment {
  size_t start, end;
  int32_t added;  // index into Impl::added, or -1 for plain text
};

// HF AddedVocabulary::find_matches for one trie over `s`.
void find_added(const Tokenizer::Impl& impl, const TokenTrie& trie, std::string_view s, std::vector<Segment>& out) {
  size_t cursor = 0, from = 0, mstart = 0, mend = 0;
  int32_t idx;
  while ((idx = trie.find(s, from, &mstart, &mend)) >= 0) {
    from = mend;
    const AddedToken& tok = impl.added[idx];
    size_t start = mstart, stop = mend;
    if (tok.single_word) {
      bool word_before = false, word_after = false;
      if (start > 0) {
        size_t b = start - 1;
        while (b > 0 && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80) --b;
        word_before = impl.word_char->matches_at(s, b);
      }
      if (stop < s.size()) word_after = impl.word_char->matches_at(s, stop);
      if (word_before || word_after) continue;
    }
    if (tok.lstrip) start = std::max(space_leftmost_at_end(s.substr(0, start)), cursor);
    if (tok.rstrip) stop += space_rightmost_at_start(s.substr(stop));
    if (cursor < start) out.push_back({cursor, start, -1});
    out.push_back({start, stop, idx});
    cursor = stop;
  }
  if (cursor < s.size()) out.push_back({cursor, s.size(), -1});
}

}  // namespace

int32_t Tokenizer::Impl::char_id(std::string_view ch) const {
  size_t len = 0;
  const uint32_t cp = utf8::decode_at(ch, 0, &len);
  if (len == ch.size() && cp < small_char_id.size()) return small_char_id[cp];
  const auto it = vocab.find(ch);
  return it == vocab.end() ? -1 : it->second;
}

void Tokenizer::Impl::bpe_word(std::string_view word, EncodeState& st) const {
  std::vector<int32_t>& out = *st.out;
  if (auto it = st.cache.find(word); it != st.cache.end()) {
    out.insert(out.end(), st.cache_ids.begin() + it->second.first,
               st.cache_ids.begin() + it->second.first + it->second.second);
    return;
  }
  const size_t out_mark = out.size();
  if (ignore_merges) {
    if (auto it = vocab.find(word); it != vocab.end()) out.push_back(it->second);
  }
  if (out.size() == out_mark) {
    // Initial symbols: one per character (unknown ones become unk or vanish).
    auto& syms = st.syms;
    syms.clear();
    for (size_t i = 0; i < word.size();) {
      size_t len = utf8::sequence_length(word, i);
      if (!len) len = 1;
      int32_t id = char_id(word.substr(i, len));
      i += len;
      if (id < 0) {
        if (unk_id < 0) continue;
        if (fuse_unk && !syms.empty() && syms.back().id == unk_id) continue;
        id = unk_id;
      }
      const auto n = static_cast<int32_t>(syms.size());
      syms.push_back({id, n - 1, -1});
      if (n > 0) syms[n - 1].next = n;
    }
    // Merge the lowest-rank pair, leftmost first, until none applies (HF's
    // order). Queue keys pack (rank, position) so the heap compares one integer.
    using Cand = EncodeState::Cand;
    auto& heap = st.heap;
    heap.clear();
    auto push = [&](int32_t pos, bool sift) {
      const int32_t nx = syms[pos].next;
      if (nx < 0) return;
      const int32_t a = syms[pos].id, b = syms[nx].id;
      const auto it = merges.find((static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b));
      if (it == merges.end()) return;
      heap.push_back({(static_cast<uint64_t>(it->second.first) << 32) | static_cast<uint32_t>(pos), it->second.second,
                      a, b});
      if (sift) std::push_heap(heap.begin(), heap.end());
    };
    for (int32_t i = 0; i + 1 < static_cast<int32_t>(syms.size()); ++i) push(i, false);
    std::make_heap(heap.begin(), heap.end());
    while (!heap.empty()) {
      std::pop_heap(heap.begin(), heap.end());
      const Cand c = heap.back();
      heap.pop_back();
      const auto pos = static_cast<int32_t>(c.key & 0xFFFFFFFFu);
      EncodeState::Sym& s = syms[pos];
      // Stale entry: this symbol or its neighbour was merged since it was queued.
      if (s.id != c.left || s.next < 0 || syms[s.next].id != c.right) continue;
      const int32_t gone = s.next;
      s.id = c.new_id;
      s.next = syms[gone].next;
      if (s.next >= 0) syms[s.next].prev = pos;
      syms[gone].id = -1;
      if (s.prev >= 0) push(s.prev, true);
      push(pos, true);
    }
    for (int32_t i = syms.empty() ? -1 : 0; i >= 0; i = syms[i].next) out.push_back(syms[i].id);
  }
  if (word.size() <= 256 && st.cache.size() < 200000) {
    const auto off = static_cast<uint32_t>(st.cache_ids.size());
    st.cache_ids.insert(st.cache_ids.end(), out.begin() + out_mark, out.end());
    st.cache.emplace(std::string(word), std::make_pair(off, static_cast<uint32_t>(out.size() - out_mark)));
  }
}

void Tokenizer::Impl::pre_tokenize(size_t step, std::string_view piece, EncodeState& st) const {
  if (piece.empty()) return;
  if (step == pre_steps.size()) {
    bpe_word(piece, st);
    return;
  }
  const PreStep& ps = pre_steps[step];
  auto split = [&](std::string_view s, auto&& each) {
    // Isolated: matches and the gaps between them all become pieces. `each`
    // only recurses into later steps, which use their own scratch.
    auto& spans = st.spans[step];
    spans.clear();
    ps.regex->find_all(s, spans);
    size_t prev = 0;
    for (const auto& [a, b] : spans) {
      if (a > prev) each(s.substr(prev, a - prev));
      each(s.substr(a, b - a));
      prev = b;
    }
    if (prev < s.size()) each(s.substr(prev));
  };
  if (ps.kind == PreStep::Kind::Split) {
    split(piece, [&](std::string_view sub) { pre_tokenize(step + 1, sub, st); });
    return;
  }
  // ByteLevel: optional prefix space, optional GPT-2 split, then byte mapping.
  std::string& prefixed = st.text[2 * step];
  std::string_view text = piece;
  if (ps.add_prefix_space && piece.front() != ' ') {
    prefixed.assign(1, ' ');
    prefixed.append(piece);
    text = prefixed;
  }
  auto map_and_continue = [&](std::string_view sub) {
    std::string& mapped = st.text[2 * step + 1];
    mapped.clear();
    byte_level::encode(sub, mapped);
    pre_tokenize(step + 1, mapped, st);
  };
  if (ps.regex) {
    split(text, map_and_continue);
  } else {
    map_and_continue(text);
  }
}

void Tokenizer::Impl::encode_text(std::string_view text, EncodeState& st) const {
  std::vector<Segment> pass1, pass2;
  find_added(*this, trie_raw, text, pass1);
  for (const Segment& seg : pass1) {
    if (seg.added >= 0) {
      st.out->push_back(added[seg.added].id);
      continue;
    }
    const std::string_view gap = text.substr(seg.start, seg.end - seg.start);
    pass2.clear();
    find_added(*this, trie_normalized, gap, pass2);
    for (const Segment& s2 : pass2) {
      if (s2.added >= 0) {
        st.out->push_back(added[s2.added].id);
      } else {
        pre_tokenize(0, gap.substr(s2.start, s2.end - s2.start), st);
      }
    }
  }
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  const Impl& impl = *impl_;
  if (const size_t bad = utf8::first_invalid(text); bad != std::string_view::npos) {
    throw Error("tokenizer " + impl.path + ": encode input is not valid UTF-8 (byte offset " + std::to_string(bad) +
                ")");
  }
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 8);
  if (add_special_tokens) ids = impl.post_prefix;
  Impl::EncodeState st;
  st.out = &ids;
  st.spans.resize(impl.pre_steps.size());
  st.text.resize(2 * impl.pre_steps.size());
  impl.encode_text(text, st);
  if (add_special_tokens) ids.insert(ids.end(), impl.post_suffix.begin(), impl.post_suffix.end());
  return ids;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  const Impl& impl = *impl_;
  std::string bytes;
  bool first = true;
  for (const int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= impl.id_token.size() || !impl.id_valid[id]) continue;
    if (skip_special_tokens && impl.id_special[id]) continue;
    const std::string& tok = impl.id_token[id];
    if (impl.decoder == Impl::Decoder::ByteLevel) {
      if (!byte_level::decode(tok, bytes)) bytes += tok;
    } else {
      if (!first) bytes += ' ';
      bytes += tok;
    }
    first = false;
  }
  return utf8::lossy(bytes);
}

bool Tokenizer::decode_concatenates() const { return impl_->decoder == Impl::Decoder::ByteLevel; }

int Tokenizer::vocab_size() const { return static_cast<int>(impl_->id_token.size()); }

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  if (const auto it = impl_->added_ids.find(token); it != impl_->added_ids.end()) return it->second;
  if (const auto it = impl_->vocab.find(token); it != impl_->vocab.end()) return it->second;
  return std::nullopt;
}

std::string Tokenizer::id_to_token(int32_t id) const {
  const Impl& impl = *impl_;
  if (id < 0 || static_cast<size_t>(id) >= impl.id_token.size() || !impl.id_valid[id]) {
    throw Error("tokenizer " + impl.path + ": no token has id " + std::to_string(id) + " (vocab size " +
                std::to_string(impl.id_token.size()) + ")");
  }
  return impl.id_token[id];
}

bool Tokenizer::is_special(int32_t id) const {
  const Impl& impl = *impl_;
  return id >= 0 && static_cast<size_t>(id) < impl.id_special.size() && impl.id_special[id];
}

}  // namespace tt
