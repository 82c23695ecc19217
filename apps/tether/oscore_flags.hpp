#pragma once
// The OSCORE flags of `tether coap` (Transport TS 5.5, RFC 8613 3.1): a security context
// given by hand, so anyone can reach an OSCORE-protected resource.
#include <cstdint>
#include <optional>
#include <string>

#include <unordered_map>
#include "cli_options.hpp"

#include "lwm2m/tree.hpp"
#include "oscore/keyring.hpp"
#include "oscore/oscore_layer.hpp"

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
// The context the flags describe, or nullptr when --oscore-secret is absent. Throws
// std::invalid_argument when they do not make one.
oscore::SharedContext oscore_context(const OscoreFlags& f);
extern const char* const kOscoreHelp;

// Transport TS 5.5.3: the flags' context as OSCORE instance /21/`instance`, linked from the
// Security instance /0/`instance`/17. Throws std::invalid_argument for values not hex.
void add_oscore_account(lwm2m::Tree& tree, std::uint16_t instance, const OscoreFlags& f);

// Writes `text` to `file` so that a crash leaves the old or the new text (fsync, rename).
bool write_durably(const std::string& file, const std::string& text);

// RFC 8613 B.1.1 for a keyring: the Sender Sequence Number bound of each context, one
// "name bound" line each, in `file` (written durably before a number past it is used).
class SequenceBounds {
 public:
  explicit SequenceBounds(std::string file);
  // The keyring resumes from the stored bounds and stores new ones `step` ahead.
  void serve(oscore::Keyring& keyring, std::uint64_t step);

 private:
  bool store(const std::string& name, std::uint64_t bound);
  std::string file_;
  std::unordered_map<std::string, std::uint64_t> bounds_;
};

}  // namespace tether::app
