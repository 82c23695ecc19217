#pragma once
// Transport TS Appendix D.3: over NIDD a device talks to the one server its network routes
// it to; its account's URI says only "nidd://" (anything after the scheme names the server
// for people and logs, not for routing).
#include <string_view>

namespace tether::nidd {

inline bool is_nidd_uri(std::string_view uri) {
  return uri.rfind("nidd://", 0) == 0;
}

}  // namespace tether::nidd
