// Loading a HF tokenizer.json into tt::Tokenizer (encode/decode live in
// tokenizer_encode.cpp, PCRE2 and the added-token trie in tokenizer_regex.cpp).
#include "model/tokenizer.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_set>

#include "model/byte_level.hpp"
#include "model/error.hpp"
#include "model/tokenizer_impl.hpp"

namespace tt {

using tokenizer_detail::AddedToken;
using tokenizer_detail::PreStep;
using tokenizer_detail::Regex;
using json = nlohmann::json;

namespace {

// The regex HF's ByteLevel pre-tokenizer applies when use_regex is true.
constexpr const char* kGpt2Regex =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
// Rust regex \w (UTS#18 Annex C), which HF uses for AddedToken.single_word. It
// is not Oniguruma's \w (Join_Control is in, ² is out), hence spelled out.
constexpr const char* kWordChar = R"([\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\x{200C}\x{200D}])";

class Loader {
public:
  explicit Loader(std::string path) : path_(std::move(path)) {}

  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw Error("tokenizer " + path_ + ": " + field + ": " + what);
  }

  const json& get(const json& obj, const std::string& where, const char* key) const {
    if (!obj.is_object()) fail(where, "must be a JSON object");
    const auto it = obj.find(key);
    if (it == obj.end()) fail(join(where, key), "missing field");
    return *it;
  }
  const json* opt(const json& obj, const std::string& where, const char* key) const {
    if (!obj.is_object()) fail(where, "must be a JSON object");
    const auto it = obj.find(key);
    return it == obj.end() || it->is_null() ? nullptr : &*it;
  }
  std::string str(const json& obj, const std::string& where, const char* key) const {
    const json& v = get(obj, where, key);
    if (!v.is_string()) fail(join(where, key), "must be a string");
    return v.get<std::string>();
  }
  bool flag(const json& obj, const std::string& where, const char* key, bool dflt) const {
    const json* v = opt(obj, where, key);
    if (!v) return dflt;
    if (!v->is_boolean()) fail(join(where, key), "must be true or false");
    return v->get<bool>();
  }
  int32_t id(const json& v, const std::string& where) const {
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > INT32_MAX) {
      fail(where, "must be a non-negative 32-bit integer id");
    }
    return static_cast<int32_t>(v.get<int64_t>());
  }
  static std::string join(const std::string& where, const std::string& key) {
    return where.empty() ? key : where + "." + key;
  }
  static std::string idx(const std::string& where, size_t i) { return where + "[" + std::to_string(i) + "]"; }

  Tokenizer::Impl load();

private:
  json read() const;
  void load_model(const json& model, Tokenizer::Impl& t) const;
  void load_added(const json& root, Tokenizer::Impl& t) const;
  void load_pre(const json& pre, const std::string& where, Tokenizer::Impl& t) const;
  void load_post(const json& post, const std::string& where, Tokenizer::Impl& t) const;

  std::string path_;
};

json Loader::read() const {
  std::ifstream in(path_, std::ios::binary);
  if (!in) throw Error("tokenizer " + path_ + ": cannot open file");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error("tokenizer " + path_ + ": read error");
  try {
    return json::parse(ss.str());
  } catch (const json::exception& e) {
    throw Error("tokenizer " + path_ + ": invalid JSON: " + e.what());
  }
}

void Loader::load_model(const json& model, Tokenizer::Impl& t) const {
  const std::string w = "model";
  if (!model.is_object()) fail(w, "must be a JSON object");
  const json* type = opt(model, w, "type");
  if (type && !type->is_string()) fail(w + ".type", "must be a string");
  const std::string type_name = type ? type->get<std::string>() : (model.contains("merges") ? "BPE" : "");
  if (type_name != "BPE") fail(w + ".type", "unsupported model type '" + type_name + "' (only BPE is implemented)");
  if (opt(model, w, "dropout")) fail(w + ".dropout", "must be null (BPE dropout is not supported)");
  for (const char* k : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    const json* v = opt(model, w, k);
    if (v && !(v->is_string() && v->get<std::string>().empty())) fail(join(w, k), "must be null (not supported)");
  }
  if (flag(model, w, "byte_fallback", false)) fail(w + ".byte_fallback", "must be false (byte fallback not supported)");
  t.ignore_merges = flag(model, w, "ignore_merges", false);
  t.fuse_unk = flag(model, w, "fuse_unk", false);

  const json& vocab = get(model, w, "vocab");
  if (!vocab.is_object()) fail(w + ".vocab", "must be a JSON object of token -> id");
  t.vocab.reserve(vocab.size());
  for (const auto& [tok, v] : vocab.items()) {
    const int32_t i = id(v, w + ".vocab[\"" + tok + "\"]");
    t.vocab.emplace(tok, i);
  }
  if (const json* unk = opt(model, w, "unk_token")) {
    if (!unk->is_string()) fail(w + ".unk_token", "must be a string or null");
    const auto it = t.vocab.find(unk->get<std::string>());
    if (it == t.vocab.end()) fail(w + ".unk_token", "'" + unk->get<std::string>() + "' is not in model.vocab");
    t.unk_id = it->second;
  }

  const json& merges = get(model, w, "merges");
  if (!merges.is_array()) fail(w + ".merges", "must be an array");
  t.merges.reserve(merges.size());
  auto lookup = [&](const std::string& tok, const std::string& where) {
    const auto it = t.vocab.find(tok);
    if (it == t.vocab.end()) fail(where, "token '" + tok + "' is not in model.vocab");
    return it->second;
  };
  for (size_t i = 0; i < merges.size(); ++i) {
    const json& m = merges[i];
    const std::string mw = idx(w + ".merges", i);
    std::string a, b;
    if (m.is_string()) {  // legacy "a b"
      const std::string& s = m.get_ref<const std::string&>();
      const size_t sp = s.find(' ');
      if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos) {
        fail(mw, "'" + s + "' is not two space-separated tokens");
      }
      a = s.substr(0, sp);
      b = s.substr(sp + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      a = m[0].get<std::string>();
      b = m[1].get<std::string>();
    } else {
      fail(mw, "must be \"a b\" or [\"a\", \"b\"]");
    }
    const int32_t ia = lookup(a, mw), ib = lookup(b, mw), merged = lookup(a + b, mw);
    const uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(ia)) << 32) | static_cast<uint32_t>(ib);
    t.merges.insert_or_assign(key, std::make_pair(static_cast<int32_t>(i), merged));  // HF: a repeat's later rank wins
  }
}

void Loader::load_added(const json& root, Tokenizer::Impl& t) const {
  const json* arr = opt(root, "", "added_tokens");
  if (!arr) return;
  if (!arr->is_array()) fail("added_tokens", "must be an array");
  for (size_t i = 0; i < arr->size(); ++i) {
    const json& e = (*arr)[i];
    const std::string w = idx("added_tokens", i);
    AddedToken tok;
    tok.id = id(get(e, w, "id"), w + ".id");
    tok.content = str(e, w, "content");
    tok.special = flag(e, w, "special", false);
    tok.single_word = flag(e, w, "single_word", false);
    tok.lstrip = flag(e, w, "lstrip", false);
    tok.rstrip = flag(e, w, "rstrip", false);
    tok.normalized = flag(e, w, "normalized", !tok.special);
    if (tok.content.empty()) continue;
    if (utf8::first_invalid(tok.content) != std::string::npos) fail(w + ".content", "is not valid UTF-8");
    if (!t.added_ids.emplace(tok.content, tok.id).second) continue;  // first definition wins
    const auto index = static_cast<int32_t>(t.added.size());
    (tok.normalized ? t.trie_normalized : t.trie_raw).add(tok.content, index);
    t.added.push_back(std::move(tok));
  }
}

void Loader::load_pre(const json& pre, const std::string& w, Tokenizer::Impl& t) const {
  const std::string type = str(pre, w, "type");
  if (type == "Sequence") {
    const json& list = get(pre, w, "pretokenizers");
    if (!list.is_array()) fail(w + ".pretokenizers", "must be an array");
    for (size_t i = 0; i < list.size(); ++i) load_pre(list[i], idx(w + ".pretokenizers", i), t);
  } else if (type == "Split") {
    const json& pat = get(pre, w, "pattern");
    PreStep step;
    step.kind = PreStep::Kind::Split;
    if (const json* re = opt(pat, w + ".pattern", "Regex")) {
      if (!re->is_string()) fail(w + ".pattern.Regex", "must be a string");
      step.regex = std::make_shared<Regex>(re->get<std::string>(), "tokenizer " + path_ + ": " + w + ".pattern.Regex");
    } else if (const json* lit = opt(pat, w + ".pattern", "String")) {
      if (!lit->is_string()) fail(w + ".pattern.String", "must be a string");
      step.regex = std::make_shared<Regex>(lit->get<std::string>(), "tokenizer " + path_ + ": " + w + ".pattern", true);
    } else {
      fail(w + ".pattern", "must be {\"Regex\": ...} or {\"String\": ...}");
    }
    const std::string behavior = str(pre, w, "behavior");
    // With Isolated every match and every gap is its own piece, so `invert`
    // (which swaps the two roles) does not change the result.
    if (behavior != "Isolated") {
      fail(w + ".behavior", "'" + behavior + "' is not supported (only Isolated)");
    }
    t.pre_steps.push_back(std::move(step));
  } else if (type == "ByteLevel") {
    PreStep step;
    step.kind = PreStep::Kind::ByteLevel;
    step.add_prefix_space = flag(pre, w, "add_prefix_space", true);
    if (flag(pre, w, "use_regex", true)) {
      step.regex = std::make_shared<Regex>(kGpt2Regex, "tokenizer " + path_ + ": " + w + " (GPT-2 regex)");
    }
    t.pre_steps.push_back(std::move(step));
  } else {
    fail(w + ".type", "unsupported pre-tokenizer '" + type + "' (Sequence, Split, ByteLevel are implemented)");
  }
}

void Loader::load_post(const json& post, const std::string& w, Tokenizer::Impl& t) const {
  const std::string type = str(post, w, "type");
  if (type == "Sequence") {
    const json& list = get(post, w, "processors");
    if (!list.is_array()) fail(w + ".processors", "must be an array");
    for (size_t i = 0; i < list.size(); ++i) load_post(list[i], idx(w + ".processors", i), t);
  } else if (type == "ByteLevel") {
    // Only adjusts offsets; ids are unchanged.
  } else if (type == "TemplateProcessing") {
    const json& single = get(post, w, "single");
    if (!single.is_array()) fail(w + ".single", "must be an array");
    const json& specials = get(post, w, "special_tokens");
    std::vector<int32_t> prefix, suffix;
    bool seen_seq = false;
    for (size_t i = 0; i < single.size(); ++i) {
      const std::string iw = idx(w + ".single", i);
      if (const json* sp = opt(single[i], iw, "SpecialToken")) {
        const std::string name = str(*sp, iw + ".SpecialToken", "id");
        if (!specials.is_object() || !specials.contains(name)) {
          fail(w + ".special_tokens", "has no entry '" + name + "' used by " + iw);
        }
        const json& ids = get(specials[name], w + ".special_tokens." + name, "ids");
        if (!ids.is_array()) fail(w + ".special_tokens." + name + ".ids", "must be an array");
        for (size_t k = 0; k < ids.size(); ++k) {
          (seen_seq ? suffix : prefix).push_back(id(ids[k], idx(w + ".special_tokens." + name + ".ids", k)));
        }
      } else if (const json* seq = opt(single[i], iw, "Sequence")) {
        const std::string name = str(*seq, iw + ".Sequence", "id");
        if (name != "A") fail(iw + ".Sequence.id", "must be A in the single-sequence template");
        if (seen_seq) fail(iw, "$A appears twice in the single-sequence template");
        seen_seq = true;
      } else {
        fail(iw, "must be {\"SpecialToken\": ...} or {\"Sequence\": ...}");
      }
    }
    if (!seen_seq) fail(w + ".single", "has no $A");
    // Processors in a Sequence wrap what came before.
    t.post_prefix.insert(t.post_prefix.begin(), prefix.begin(), prefix.end());
    t.post_suffix.insert(t.post_suffix.end(), suffix.begin(), suffix.end());
  } else {
    fail(w + ".type", "unsupported post-processor '" + type + "' (TemplateProcessing, ByteLevel, Sequence)");
  }
}

Tokenizer::Impl Loader::load() {
  const json root = read();
  if (!root.is_object()) fail("(root)", "must be a JSON object");
  Tokenizer::Impl t;
  t.path = path_;

  for (const char* k : {"truncation", "padding"}) {
    if (opt(root, "", k)) fail(k, "must be null (truncation/padding are not supported)");
  }
  if (const json* norm = opt(root, "", "normalizer")) {
    const std::string type = str(*norm, "normalizer", "type");
    const json* list = type == "Sequence" ? opt(*norm, "normalizer", "normalizers") : nullptr;
    if (!(list && list->is_array() && list->empty())) {
      fail("normalizer.type", "unsupported normalizer '" + type + "' (only null is implemented)");
    }
  }
  load_model(get(root, "", "model"), t);
  load_added(root, t);
  if (const json* pre = opt(root, "", "pre_tokenizer")) load_pre(*pre, "pre_tokenizer", t);
  if (const json* post = opt(root, "", "post_processor")) load_post(*post, "post_processor", t);
  if (const json* dec = opt(root, "", "decoder")) {
    const std::string type = str(*dec, "decoder", "type");
    if (type != "ByteLevel") fail("decoder.type", "unsupported decoder '" + type + "' (only ByteLevel or null)");
    t.decoder = Tokenizer::Impl::Decoder::ByteLevel;
  }
  t.word_char = std::make_unique<Regex>(kWordChar, "tokenizer: word-character class");

  // Per-id tables.
  int64_t max_id = -1;
  for (const auto& [tok, i] : t.vocab) max_id = std::max<int64_t>(max_id, i);
  for (const AddedToken& a : t.added) max_id = std::max<int64_t>(max_id, a.id);
  const auto n = static_cast<size_t>(max_id + 1);
  t.id_token.assign(n, {});
  t.id_valid.assign(n, 0);
  t.id_special.assign(n, 0);
  for (const auto& [tok, i] : t.vocab) {
    if (t.id_valid[i]) fail("model.vocab", "id " + std::to_string(i) + " is used by two tokens");
    t.id_token[i] = tok;
    t.id_valid[i] = 1;
  }
  std::unordered_set<std::string> special_contents;
  for (const AddedToken& a : t.added) {
    t.id_token[a.id] = a.content;
    t.id_valid[a.id] = 1;
    if (a.special) special_contents.insert(a.content);
  }
  for (size_t i = 0; i < n; ++i) t.id_special[i] = t.id_valid[i] && special_contents.count(t.id_token[i]) ? 1 : 0;

  t.small_char_id.assign(0x800, -1);
  for (const auto& [tok, i] : t.vocab) {
    size_t len = 0;
    const uint32_t cp = utf8::decode_at(tok, 0, &len);
    if (!tok.empty() && len == tok.size() && cp < t.small_char_id.size()) t.small_char_id[cp] = i;
  }
  return t;
}

}  // namespace

Tokenizer::Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

Tokenizer Tokenizer::load(const std::string& path) {
  Loader loader(path);
  return Tokenizer(std::make_shared<const Impl>(loader.load()));
}

}  // namespace tt
