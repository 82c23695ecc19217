#include "common/text.hpp"

#include <cstdint>

namespace tether {

namespace {

// The length of the valid UTF-8 sequence at the start of `s`, or 0 when there is none.
std::size_t utf8_sequence(std::string_view s) {
  const auto byte = [&s](std::size_t i) { return static_cast<std::uint8_t>(s[i]); };
  const std::uint8_t b0 = byte(0);
  if (b0 < 0x80) return 1;
  std::size_t n = 0;
  std::uint8_t lo = 0x80;
  std::uint8_t hi = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    n = 2;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    n = 3;
    if (b0 == 0xe0) lo = 0xa0;  // overlong
    if (b0 == 0xed) hi = 0x9f;  // surrogates
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    n = 4;
    if (b0 == 0xf0) lo = 0x90;  // overlong
    if (b0 == 0xf4) hi = 0x8f;  // above U+10FFFF
  } else {
    return 0;
  }
  if (s.size() < n) return 0;
  if (byte(1) < lo || byte(1) > hi) return 0;
  for (std::size_t i = 2; i < n; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xbf) return 0;
  }
  return n;
}

// Line and paragraph separators and the bidirectional controls (U+200E, U+200F,
// U+2028-U+202E, U+2066-U+2069): not controls to JSON, but they can make a log viewer show
// text in another order than it was written. printable() escapes them.
bool is_format_sequence(std::string_view seq) {
  if (seq.size() != 3 || static_cast<std::uint8_t>(seq[0]) != 0xe2) return false;
  const auto b1 = static_cast<std::uint8_t>(seq[1]);
  const auto b2 = static_cast<std::uint8_t>(seq[2]);
  if (b1 == 0x80) return b2 == 0x8e || b2 == 0x8f || (b2 >= 0xa8 && b2 <= 0xae);
  if (b1 == 0x81) return b2 >= 0xa6 && b2 <= 0xa9;
  return false;
}

bool is_control_sequence(std::string_view seq) {
  const auto b0 = static_cast<std::uint8_t>(seq[0]);
  if (seq.size() == 1) return b0 < 0x20 || b0 == 0x7f;
  // C1 controls are U+0080-U+009F: 0xc2 0x80 to 0xc2 0x9f.
  return seq.size() == 2 && b0 == 0xc2 && static_cast<std::uint8_t>(seq[1]) <= 0x9f;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool is_utf8(std::string_view s) {
  while (!s.empty()) {
    const std::size_t n = utf8_sequence(s);
    if (n == 0) return false;
    s.remove_prefix(n);
  }
  return true;
}

bool has_control(std::string_view s) {
  while (!s.empty()) {
    const std::size_t n = utf8_sequence(s);
    if (n == 0) return false;
    if (is_control_sequence(s.substr(0, n))) return true;
    s.remove_prefix(n);
  }
  return false;
}

Result<Ok> check_text(std::string_view s, std::string_view what, std::size_t max_bytes) {
  if (s.size() > max_bytes) {
    return fail(std::string(what) + " is longer than " + std::to_string(max_bytes) + " bytes");
  }
  if (!is_utf8(s)) return fail(std::string(what) + " is not valid UTF-8");
  if (has_control(s)) return fail(std::string(what) + " holds a control character");
  return Ok{};
}

std::string printable(std::string_view s, std::size_t max_bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  const bool cut = s.size() > max_bytes;
  if (cut) s = s.substr(0, max_bytes);
  std::string out;
  out.reserve(s.size());
  while (!s.empty()) {
    const std::size_t n = utf8_sequence(s);
    if (n != 0 && !is_control_sequence(s.substr(0, n)) && !is_format_sequence(s.substr(0, n))) {
      if (s[0] == '\\') out += '\\';
      out.append(s.substr(0, n));
      s.remove_prefix(n);
      continue;
    }
    // Escape the whole control sequence (one or two bytes), or the one invalid byte.
    const std::size_t bad = n == 0 ? 1 : n;
    for (std::size_t i = 0; i < bad; ++i) {
      const auto b = static_cast<std::uint8_t>(s[i]);
      out += "\\x";
      out += kHex[b >> 4];
      out += kHex[b & 0xf];
    }
    s.remove_prefix(bad);
  }
  if (cut) out += "...";
  return out;
}

Result<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return fail("a percent escape needs two hex digits");
      const int hi = hex_value(text[i + 1]);
      const int lo = hex_value(text[i + 2]);
      if (hi < 0 || lo < 0) return fail("a percent escape needs two hex digits");
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

}  // namespace tether
