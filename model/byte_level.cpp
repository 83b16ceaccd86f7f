#include "model/byte_level.hpp"

namespace tt::byte_level {
namespace {

struct Tables {
  std::array<uint32_t, 256> to_cp{};
  std::array<int16_t, 0x144> to_byte{};
  std::array<std::string, 256> utf8;  // UTF-8 of to_cp[b]

  Tables() {
    to_byte.fill(-1);
    auto printable = [](int b) {
      return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    };
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      to_cp[b] = printable(b) ? static_cast<uint32_t>(b) : next++;
      to_byte[to_cp[b]] = static_cast<int16_t>(b);
      utf8::append(to_cp[b], utf8[b]);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

const std::array<uint32_t, 256>& byte_to_codepoint() { return tables().to_cp; }

int codepoint_to_byte(uint32_t cp) { return cp < 0x144 ? tables().to_byte[cp] : -1; }

void encode(std::string_view bytes, std::string& out) {
  const Tables& t = tables();
  for (unsigned char b : bytes) out += t.utf8[b];
}

bool decode(std::string_view token, std::string& out) {
  const size_t mark = out.size();
  for (size_t i = 0; i < token.size();) {
    size_t len = 0;
    const uint32_t cp = utf8::decode_at(token, i, &len);
    const int b = len ? codepoint_to_byte(cp) : -1;
    if (b < 0) {
      out.resize(mark);
      return false;
    }
    out.push_back(static_cast<char>(b));
    i += len;
  }
  return true;
}

}  // namespace tt::byte_level

namespace tt::utf8 {

void append(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

namespace {

// Number of bytes of s[i..] that form a prefix of a well-formed sequence
// (>= 1 for a valid lead byte), and the full length that lead byte requires.
// Implements Unicode Table 3-7 including the restricted second-byte ranges.
size_t valid_prefix(std::string_view s, size_t i, size_t* need) {
  const auto u = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = u(i);
  *need = 0;
  if (b0 < 0x80) {
    *need = 1;
    return 1;
  }
  unsigned char lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    *need = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    *need = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    *need = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;  // 0x80..0xC1, 0xF5..0xFF never start a sequence
  }
  size_t k = 1;
  if (i + k >= s.size() || u(i + k) < lo || u(i + k) > hi) return k;
  for (++k; k < *need; ++k) {
    if (i + k >= s.size() || u(i + k) < 0x80 || u(i + k) > 0xBF) return k;
  }
  return k;
}

}  // namespace

size_t sequence_length(std::string_view s, size_t i) {
  size_t need = 0;
  const size_t have = valid_prefix(s, i, &need);
  return have > 0 && have == need ? need : 0;
}

uint32_t decode_at(std::string_view s, size_t i, size_t* len) {
  const size_t n = sequence_length(s, i);
  *len = n;
  const auto u = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(s[i + k])); };
  switch (n) {
    case 1: return u(0);
    case 2: return ((u(0) & 0x1F) << 6) | (u(1) & 0x3F);
    case 3: return ((u(0) & 0x0F) << 12) | ((u(1) & 0x3F) << 6) | (u(2) & 0x3F);
    case 4: return ((u(0) & 0x07) << 18) | ((u(1) & 0x3F) << 12) | ((u(2) & 0x3F) << 6) | (u(3) & 0x3F);
    default: return 0xFFFD;
  }
}

size_t first_invalid(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const size_t n = sequence_length(s, i);
    if (n == 0) return i;
    i += n;
  }
  return std::string_view::npos;
}

std::string lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    size_t need = 0;
    const size_t have = valid_prefix(bytes, i, &need);
    if (have > 0 && have == need) {
      out.append(bytes.data() + i, have);
      i += have;
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD for the maximal subpart (at least one byte)
      i += have ? have : 1;
    }
  }
  return out;
}

bool is_white_space(uint32_t cp) {
  if (cp <= 0x20) return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D);
  if (cp < 0x85) return false;
  return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
         cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

}  // namespace tt::utf8
