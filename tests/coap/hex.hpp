#pragma once
// Test helpers for byte vectors written as hex, and readable Message failure output.
#include <ostream>
#include <string_view>

#include "coap/message.hpp"
#include "support/hex_bytes.hpp"

namespace tether::coap {

inline void PrintTo(const Message& m, std::ostream* os) {
  *os << m.summary() << " options=" << m.options.size() << " payload=" << to_hex(m.payload);
}

namespace testing_hex {
using test_support::concat;
using test_support::hex;
}  // namespace testing_hex
}  // namespace tether::coap
