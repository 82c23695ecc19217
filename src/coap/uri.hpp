#pragma once
// coap://, coaps://, coap+tcp:// and coaps+tcp:// URIs (RFC 7252 6, RFC 8323 8).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "coap/message.hpp"
#include "common/result.hpp"

namespace tether::coap {

enum class Scheme { kCoap, kCoaps, kCoapTcp, kCoapsTcp };

struct Uri {
  Scheme scheme = Scheme::kCoap;
  std::string host;  // without brackets for IPv6 literals
  std::uint16_t port = 5683;
  std::vector<std::string> path;   // percent-decoded segments
  std::vector<std::string> query;  // percent-decoded, split at '&'

  bool is_stream() const { return scheme == Scheme::kCoapTcp || scheme == Scheme::kCoapsTcp; }
  bool is_secure() const { return scheme == Scheme::kCoaps || scheme == Scheme::kCoapsTcp; }
  // Adds Uri-Path and Uri-Query options to a request.
  void apply_to(Message& request) const;
  friend bool operator==(const Uri&, const Uri&) = default;
};

Result<Uri> parse_uri(std::string_view text);
std::uint16_t default_port(Scheme s);
const char* scheme_name(Scheme s);  // "coap", "coaps", "coap+tcp", "coaps+tcp"
// RFC 7252 5.7.2 and 6.5: a request sent to a forward proxy names where it goes with
// Proxy-Scheme, Uri-Host and Uri-Port (class U for OSCORE, so the proxy can read them).
void set_proxy_target(Message& request, const Uri& target);

}  // namespace tether::coap
