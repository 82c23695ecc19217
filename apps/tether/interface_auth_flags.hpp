#pragma once
// Seed 004's per-interface authentication as flags: each HTTP interface (the HTTP binding,
// the REST API) has its own list of modes, trusted proxies and identity header.
#include <string>
#include <string_view>

#include "http/interface_auth.hpp"

namespace tether::app {

struct InterfaceAuthOptions {
  std::string modes;            // "none,digest,certificate,proxy,token"; empty: the default
  std::string trusted_proxies;  // "127.0.0.1,::1": the proxies whose header is believed
  std::string identity_header;  // default X-Authenticated-User
};

// Throws std::invalid_argument (start-up configuration) naming `flag` (e.g. "--api-auth").
http::InterfaceAuthConfig interface_auth_config(const InterfaceAuthOptions& o,
                                                std::string_view default_modes,
                                                const std::string& flag);

}  // namespace tether::app
