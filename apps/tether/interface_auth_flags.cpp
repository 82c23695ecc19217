#include "interface_auth_flags.hpp"

#include <stdexcept>

namespace tether::app {

http::InterfaceAuthConfig interface_auth_config(const InterfaceAuthOptions& o,
                                                std::string_view default_modes,
                                                const std::string& flag) {
  http::InterfaceAuthConfig c;
  c.identity_header = o.identity_header;
  std::string_view list = o.trusted_proxies;
  while (!list.empty()) {
    const auto comma = list.find(',');
    c.trusted_proxies.emplace_back(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
  }
  if (auto ok = http::parse_auth_modes(o.modes.empty() ? default_modes : o.modes, c); !ok) {
    throw std::invalid_argument(flag + ": " + ok.error().reason);
  }
  if (auto ok = http::check_auth_config(c); !ok) {
    throw std::invalid_argument(flag + ": " + ok.error().reason);
  }
  return c;
}

}  // namespace tether::app
