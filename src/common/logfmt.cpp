#include "common/logfmt.hpp"

#include "common/text.hpp"

namespace tether {

namespace {
// Long enough for any reason we log, short enough that one field cannot flood a line.
constexpr std::size_t kMaxLoggedValue = 1024;
}  // namespace

std::string logfmt_value(std::string_view value) {
  // printable() escapes controls and invalid bytes as \xNN and a backslash as \\.
  const std::string escaped = printable(value, kMaxLoggedValue);
  bool plain = !escaped.empty();
  for (char c : escaped) {
    if (c == ' ' || c == '=' || c == '"' || c == '\\') plain = false;
  }
  if (plain) return escaped;
  std::string out = "\"";
  for (char c : escaped) {
    if (c == '"') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

std::string logfmt_field(std::string_view key, std::string_view value) {
  std::string out = " ";
  out += key;
  out += '=';
  out += logfmt_value(value);
  return out;
}

}  // namespace tether
