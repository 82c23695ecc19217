#include "lwm2m/path.hpp"

#include <cassert>
#include <charconv>

namespace tether::lwm2m {

Path::Path(std::initializer_list<std::uint16_t> ids) {
  assert(ids.size() <= 4);
  for (auto id : ids) ids_[depth_++] = id;
}

Result<std::uint16_t> parse_id(std::string_view text) {
  if (text.empty()) return fail("empty path segment");
  if (text.size() > 1 && text[0] == '0') return fail("path segment has a leading zero");
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size())
    return fail("path segment '" + std::string(text) + "' is not a number");
  if (value > Path::kMaxId) return fail("path segment " + std::string(text) + " exceeds 65534");
  return static_cast<std::uint16_t>(value);
}

Result<Path> Path::parse(std::string_view text) {
  if (text.empty() || text[0] != '/') return fail("path must start with '/'");
  text.remove_prefix(1);
  if (!text.empty() && text.back() == '/') text.remove_suffix(1);
  Path p;
  while (!text.empty()) {
    if (p.depth_ == 4) return fail("path has more than four segments");
    auto slash = text.find('/');
    auto segment = text.substr(0, slash);
    auto id = parse_id(segment);
    if (!id) return id.error();
    p.ids_[p.depth_++] = *id;
    text = slash == std::string_view::npos ? std::string_view() : text.substr(slash + 1);
    if (slash != std::string_view::npos && text.empty()) return fail("empty path segment");
  }
  return p;
}

std::string Path::to_string() const {
  if (depth_ == 0) return "/";
  std::string out;
  for (int i = 0; i < depth_; ++i) {
    out += '/';
    out += std::to_string(ids_[static_cast<std::size_t>(i)]);
  }
  return out;
}

Path Path::parent() const {
  Path p = *this;
  if (p.depth_ > 0) p.ids_[--p.depth_] = 0;
  return p;
}

Path Path::child(std::uint16_t id) const {
  assert(depth_ < 4);
  Path p = *this;
  p.ids_[p.depth_++] = id;
  return p;
}

bool Path::covers(const Path& other) const {
  if (other.depth_ < depth_) return false;
  for (int i = 0; i < depth_; ++i)
    if (ids_[static_cast<std::size_t>(i)] != other.ids_[static_cast<std::size_t>(i)]) return false;
  return true;
}

std::strong_ordering operator<=>(const Path& a, const Path& b) {
  int n = a.depth_ < b.depth_ ? a.depth_ : b.depth_;
  for (int i = 0; i < n; ++i) {
    auto c = a.ids_[static_cast<std::size_t>(i)] <=> b.ids_[static_cast<std::size_t>(i)];
    if (c != 0) return c;
  }
  return a.depth_ <=> b.depth_;
}

}  // namespace tether::lwm2m
