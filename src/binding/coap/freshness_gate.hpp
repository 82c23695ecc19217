#pragma once
// Transport TS 5.7 and 5.2.9.5: which requests a peer must prove fresh with the CoAP Echo
// option (RFC 9175 2.4) before we act on them. The Endpoint issues and checks Echo values;
// this gate decides when to ask, for one datagram transport (over a stream carrier delayed
// messages cannot be replayed, so streams need no gate).
#include <cstddef>
#include <unordered_map>

#include "coap/endpoint.hpp"

namespace tether::binding::coap_binding {

struct FreshnessRules {
  // Unsafe requests (POST, PUT, DELETE, PATCH, iPATCH) from a peer not heard from for this
  // long must carry a fresh Echo; a peer never heard from counts as silent forever, so its
  // address is verified first. 0: off. A server uses it for Register, Update, De-register
  // and Send; a client for Write, Execute, Create and Delete.
  Duration after_silence{0};
  // A client: every request that may write Current Time (/3/0/13) must be fresh, as the
  // time decides whether certificates have expired.
  bool current_time = false;
};

class FreshnessGate {
 public:
  explicit FreshnessGate(FreshnessRules rules) : rules_(rules) {}

  // The Endpoint's hooks (EndpointConfig::require_echo and on_fresh_echo).
  bool requires_echo(coap::PeerId peer, const coap::Message& request, Instant now);
  void heard(coap::PeerId peer, Instant now);
  // Sets both hooks of `config` to this gate, which must outlive the endpoint.
  void install(coap::EndpointConfig& config);

  // Peers remembered as heard (bounded: silent ones are forgotten).
  std::size_t remembered() const { return last_heard_.size(); }

 private:
  void forget_silent(Instant now);

  FreshnessRules rules_;
  std::unordered_map<coap::PeerId, Instant> last_heard_;
  std::size_t sweep_at_ = 1024;
};

// Whether a request may write /3/0/13: a write method on /, /3, /3/0 or /3/0/13 (under an
// alternate path too; the body is not read).
bool may_write_current_time(const coap::Message& request);

}  // namespace tether::binding::coap_binding
