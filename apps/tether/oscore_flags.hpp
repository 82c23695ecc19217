#pragma once
// The OSCORE flags of `tether coap` (Transport TS 5.5, RFC 8613 3.1): a security context
// given by hand, so anyone can reach an OSCORE-protected resource.
#include <cstdint>
#include <optional>
#include <string>

#include "cli_options.hpp"
#include "oscore/security_context.hpp"

namespace tether::app {

struct OscoreFlags {
  std::string secret;        // hex Master Secret; empty: no OSCORE
  std::string salt;          // hex Master Salt
  std::string sender_id;     // hex
  std::string recipient_id;  // hex
  std::string context;       // hex ID Context
  std::uint64_t sequence = 0;
  std::string state;  // file keeping the Sender Sequence Number bound across runs
};

// For ArgReader loops: consumes the current flag when it is one of ours.
bool take_oscore_flag(ArgReader& r, OscoreFlags& f);
// The context the flags describe, or none when --oscore-secret is absent. Throws
// std::invalid_argument when they do not make one.
std::optional<oscore::SecurityContext> oscore_context(const OscoreFlags& f);
extern const char* const kOscoreHelp;

}  // namespace tether::app
