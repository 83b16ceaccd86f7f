// GPT-2 byte-level mapping and the UTF-8 helpers the tokenizer needs.
//
// The byte-level scheme maps every byte 0..255 to one printable Unicode code
// point (GPT-2's bytes_to_unicode), so any byte string becomes a string of
// "visible" characters that a BPE vocabulary can hold.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tt::byte_level {

// GPT-2 bytes_to_unicode: byte -> code point (all below 0x144).
const std::array<uint32_t, 256>& byte_to_codepoint();

// Inverse of byte_to_codepoint for code points < 0x144; -1 where unmapped.
int codepoint_to_byte(uint32_t cp);

// Appends the byte-level form (UTF-8 of the mapped code points) of `bytes`.
void encode(std::string_view bytes, std::string& out);

// Maps every character of `token` back to its byte and appends the bytes.
// Returns false (appending nothing) when some character is not in the table.
bool decode(std::string_view token, std::string& out);

}  // namespace tt::byte_level

namespace tt::utf8 {

// Appends the UTF-8 encoding of `cp`.
void append(uint32_t cp, std::string& out);

// Length of the well-formed UTF-8 sequence starting at s[i], or 0 if the bytes
// there are not a well-formed sequence (Unicode Table 3-7).
size_t sequence_length(std::string_view s, size_t i);

// Decodes the (well-formed) sequence at s[i]; `len` receives its length.
uint32_t decode_at(std::string_view s, size_t i, size_t* len);

// Offset of the first ill-formed byte, or npos if `s` is valid UTF-8.
size_t first_invalid(std::string_view s);

// Like Rust's String::from_utf8_lossy: every maximal ill-formed subpart is
// replaced by one U+FFFD.
std::string lossy(std::string_view bytes);

// Unicode White_Space property (what Rust's char::is_whitespace and regex \s use).
bool is_white_space(uint32_t cp);

}  // namespace tt::utf8
