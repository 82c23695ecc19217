#include "http/router.hpp"

#include <stdexcept>

#include "common/text.hpp"
#include "http/uri.hpp"

namespace tether::http {

namespace {
constexpr std::size_t kMaxIds = 4;
constexpr std::size_t kMaxCapture = 1024;

bool all_digits(std::string_view s) {
  if (s.empty() || s.size() > 5) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}
}  // namespace

RoutePattern::RoutePattern(std::string_view pattern) {
  for (auto segment : split_path(pattern)) {
    if (segment.size() >= 2 && segment.front() == '{' && segment.back() == '}') {
      const auto inner = segment.substr(1, segment.size() - 2);
      const auto colon = inner.find(':');
      if (colon == std::string_view::npos) {
        parts_.push_back({Kind::kSegment, {}});
      } else if (inner.substr(colon + 1) == "ids") {
        parts_.push_back({Kind::kIds, {}});
      } else {
        throw std::invalid_argument("route pattern: unknown capture kind in " +
                                    std::string(pattern));
      }
    } else {
      parts_.push_back({Kind::kLiteral, std::string(segment)});
    }
  }
}

bool RoutePattern::match_from(const std::vector<std::string_view>& segments, std::size_t si,
                              std::size_t pi, std::vector<std::string_view>& raw) const {
  if (pi == parts_.size()) return si == segments.size();
  const Part& part = parts_[pi];
  switch (part.kind) {
    case Kind::kLiteral:
      return si < segments.size() && segments[si] == part.text &&
             match_from(segments, si + 1, pi + 1, raw);
    case Kind::kSegment:
      if (si >= segments.size() || segments[si].empty()) return false;
      raw.push_back(segments[si]);
      if (match_from(segments, si + 1, pi + 1, raw)) return true;
      raw.pop_back();
      return false;
    case Kind::kIds: {
      // Longest run first; literals after it are never all digits, so one pass settles it.
      std::size_t n = 0;
      while (n < kMaxIds && si + n < segments.size() && all_digits(segments[si + n])) ++n;
      for (; n >= 1; --n) {
        // The run is kept as the span from its first to its last segment.
        const char* begin = segments[si].data();
        const char* end = segments[si + n - 1].data() + segments[si + n - 1].size();
        raw.emplace_back(begin, static_cast<std::size_t>(end - begin));
        if (match_from(segments, si + n, pi + 1, raw)) return true;
        raw.pop_back();
      }
      return false;
    }
  }
  return false;
}

std::optional<Result<std::vector<std::string>>> RoutePattern::match(
    const std::vector<std::string_view>& segments) const {
  std::vector<std::string_view> raw;
  if (!match_from(segments, 0, 0, raw)) return std::nullopt;
  std::vector<std::string> out;
  std::size_t capture = 0;
  for (const auto& part : parts_) {
    if (part.kind == Kind::kLiteral) continue;
    const std::string_view text = raw[capture++];
    if (part.kind == Kind::kIds) {
      out.push_back("/" + std::string(text));
      continue;
    }
    auto decoded = percent_decode(text);
    if (!decoded) return Result<std::vector<std::string>>(decoded.error());
    if (auto ok = check_text(*decoded, "a name in the path", kMaxCapture); !ok) {
      return Result<std::vector<std::string>>(ok.error());
    }
    out.push_back(std::move(*decoded));
  }
  return Result<std::vector<std::string>>(std::move(out));
}

std::size_t Router::add(std::string method, std::string_view pattern) {
  routes_.push_back(Route{std::move(method), RoutePattern(pattern)});
  return routes_.size() - 1;
}

RouteOutcome Router::find(std::string_view method, std::string_view encoded_path) const {
  const auto segments = split_path(encoded_path);
  RouteOutcome out;
  out.status = 404;
  out.message = "no such resource";
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    auto matched = routes_[i].pattern.match(segments);
    if (!matched) continue;
    // RFC 9110 9.3.2: HEAD is GET without the body.
    const bool same =
        routes_[i].method == method || (method == "HEAD" && routes_[i].method == "GET");
    if (!same) {
      out.status = 405;
      out.message = "the resource does not take " + printable(method, 16);
      continue;
    }
    if (!*matched) {
      out.status = 400;
      out.message = matched->error().reason;
      return out;
    }
    out.status = 200;
    out.message.clear();
    out.index = i;
    out.captures = std::move(**matched);
    return out;
  }
  return out;
}

}  // namespace tether::http
