#include "tls/session.hpp"

#include <algorithm>

namespace tether::tls {

bool is_client_hello(ByteView d) {
  // Record header: type(1) version(2) epoch(2) seq(6) length(2); then the handshake header
  // starts with msg_type, 1 for ClientHello.
  constexpr std::size_t kRecordHeader = 13;
  return d.size() > kRecordHeader && d[0] == 22 && d[3] == 0 && d[4] == 0 && d[kRecordHeader] == 1;
}

std::optional<std::array<std::uint8_t, 32>> client_hello_random(ByteView d) {
  // Record header (13), handshake header (12), client_version (2), then the random.
  constexpr std::size_t kRandomAt = 13 + 12 + 2;
  if (!is_client_hello(d) || d.size() < kRandomAt + 32) return std::nullopt;
  std::array<std::uint8_t, 32> random{};
  std::copy_n(d.begin() + kRandomAt, 32, random.begin());
  return random;
}

}  // namespace tether::tls
