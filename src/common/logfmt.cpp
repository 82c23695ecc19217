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

std::vector<LogfmtField> parse_logfmt(std::string_view line) {
  std::vector<LogfmtField> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    if (i == line.size()) break;
    const std::size_t key_start = i;
    while (i < line.size() && line[i] != '=' && line[i] != ' ') ++i;
    std::string key(line.substr(key_start, i - key_start));
    if (i == line.size() || line[i] == ' ') {
      out.emplace_back(std::move(key), std::nullopt);
      continue;
    }
    ++i;  // '='
    std::string value;
    if (i < line.size() && line[i] == '"') {
      ++i;
      while (i < line.size() && line[i] != '"') {
        if (line[i] == '\\' && i + 1 < line.size() && (line[i + 1] == '"' || line[i + 1] == '\\')) {
          value += line[i + 1];
          i += 2;
          continue;
        }
        value += line[i++];
      }
      if (i < line.size()) ++i;  // closing quote
    } else {
      while (i < line.size() && line[i] != ' ') value += line[i++];
    }
    out.emplace_back(std::move(key), std::move(value));
  }
  return out;
}

}  // namespace tether
