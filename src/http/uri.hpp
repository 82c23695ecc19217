#pragma once
// The parts of a request-target (RFC 3986) the APIs route on: path segments and query
// parameters, percent-decoded. Routing splits the encoded path first, so a name holding
// '/' (sent as %2F) stays one segment.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace tether::http {

// The segments of an encoded path, without the leading '/': "/a/b%2Fc" -> "a", "b%2Fc".
// "/" and "" give none; empty segments ("/a//b") are kept. Segments stay encoded.
std::vector<std::string_view> split_path(std::string_view path);

struct QueryParam {
  std::string name;
  std::string value;
  bool has_value = false;  // "a=" has a value (empty), "a" has none
};
// "a=1&b&c=x%20y" -> {a,1}, {b}, {c,"x y"}; empty pieces ("a=1&&b") are skipped.
Result<std::vector<QueryParam>> parse_query(std::string_view query);

}  // namespace tether::http
