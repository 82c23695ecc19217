#pragma once
// A request as the server side of our HTTP stack reads it from raw bytes: tests of the HTTP
// binding start from what a peer sends on the wire, not from values our own encoder made.
#include <optional>
#include <string_view>

#include "http/server_connection.hpp"

namespace tether::test_support {

inline std::optional<http::Request> parse_raw_request(std::string_view raw) {
  http::ServerConnection connection(http::ConnectionLimits{}, Instant{});
  connection.receive(raw, Instant{});
  return connection.take_request();
}

}  // namespace tether::test_support
