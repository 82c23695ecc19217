#include "http/uri.hpp"

#include "common/text.hpp"

namespace tether::http {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  if (path.empty()) return out;
  while (true) {
    const auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

Result<std::vector<QueryParam>> parse_query(std::string_view query) {
  std::vector<QueryParam> out;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view piece = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (piece.empty()) continue;
    const auto eq = piece.find('=');
    QueryParam p;
    auto name = percent_decode(piece.substr(0, eq), true);
    if (!name) return name.error();
    p.name = std::move(*name);
    if (eq != std::string_view::npos) {
      auto value = percent_decode(piece.substr(eq + 1), true);
      if (!value) return value.error();
      p.value = std::move(*value);
      p.has_value = true;
    }
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace tether::http
