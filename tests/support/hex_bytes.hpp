#pragma once
// Byte vectors written as hex in tests.
#include <stdexcept>
#include <string>
#include <string_view>

#include "common/bytes.hpp"

namespace tether::test_support {

// "40 01 7d 34" -> bytes; a malformed literal is a bug in the test itself.
inline Bytes hex(std::string_view text) {
  auto bytes = from_hex(text);
  if (!bytes) throw std::invalid_argument(bytes.error().reason + ": " + std::string(text));
  return *bytes;
}

inline Bytes concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace tether::test_support
