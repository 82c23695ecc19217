#pragma once
// An LwM2M path: root, /O, /O/I, /O/I/R or /O/I/R/RI (Core TS 6.1).
#include <array>
#include <compare>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace tether::lwm2m {

class Path {
 public:
  // IDs run 0..65534; 65535 (MAX_ID) is reserved and only marks an instance the
  // client has yet to assign (Create without an instance ID).
  static constexpr std::uint16_t kMaxId = 65534;
  static constexpr std::uint16_t kUnassigned = 65535;

  Path() = default;  // the root path "/"
  Path(std::initializer_list<std::uint16_t> ids);

  // Accepts "/", "/3", "/3/0", "/3/0/1", "/3/0/7/2"; a trailing slash is tolerated.
  static Result<Path> parse(std::string_view text);
  // The same, for CoAP Uri-Path segments (an empty list is the root).
  template <typename Segments>
  static Result<Path> from_segments(const Segments& segments);

  std::string to_string() const;

  int depth() const { return depth_; }
  bool is_root() const { return depth_ == 0; }
  bool is_object() const { return depth_ == 1; }
  bool is_instance() const { return depth_ == 2; }
  bool is_resource() const { return depth_ == 3; }
  bool is_resource_instance() const { return depth_ == 4; }

  std::uint16_t object_id() const { return ids_[0]; }
  std::uint16_t instance_id() const { return ids_[1]; }
  std::uint16_t resource_id() const { return ids_[2]; }
  std::uint16_t resource_instance_id() const { return ids_[3]; }
  std::uint16_t operator[](int level) const { return ids_[static_cast<std::size_t>(level)]; }

  Path parent() const;
  // Precondition: depth() < 4.
  Path child(std::uint16_t id) const;
  // True when `other` is this path or lies under it.
  bool covers(const Path& other) const;

  friend bool operator==(const Path& a, const Path& b) {
    return a.depth_ == b.depth_ && a.ids_ == b.ids_;
  }
  // Parents sort before their children; siblings by ID.
  friend std::strong_ordering operator<=>(const Path& a, const Path& b);

 private:
  std::array<std::uint16_t, 4> ids_{};
  std::uint8_t depth_ = 0;
};

Result<std::uint16_t> parse_id(std::string_view text);

template <typename Segments>
Result<Path> Path::from_segments(const Segments& segments) {
  if (segments.size() > 4) return fail("path has more than four segments");
  Path p;
  for (const auto& s : segments) {
    auto id = parse_id(std::string_view(s));
    if (!id) return id.error();
    p.ids_[p.depth_++] = *id;
  }
  return p;
}

}  // namespace tether::lwm2m
