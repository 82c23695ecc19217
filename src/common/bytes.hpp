#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace tether {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

inline Bytes to_bytes(std::string_view s) {
  return Bytes(s.begin(), s.end());
}
inline std::string to_string(ByteView b) {
  return std::string(b.begin(), b.end());
}

std::string to_hex(ByteView b);
// "c8 00 06 54" -> bytes. Whitespace between digits is skipped; any other character or an
// odd number of digits fails.
Result<Bytes> from_hex(std::string_view text);

// Compares two secrets without an early exit, so the time taken does not tell how much
// of them matched (the length may show).
bool same_secret(std::string_view a, std::string_view b);

}  // namespace tether
