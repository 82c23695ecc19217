#pragma once
// The Registration interface's rules (Core TS 6.2, Transport TS Table 6.7-2), free of I/O:
// Register, Update and De-register applied to the set of registrations, lifetime expiry,
// and the response code for each refusal. The server feeds it decoded requests and the
// current time, and persists what it returns.
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/random.hpp"
#include "common/result.hpp"
#include "lwm2m/operation/registration_request.hpp"
#include "server/registration.hpp"

namespace tether::server {

// Who is on the other end, as far as the carrier can tell (Transport TS 5.2.6). Plain UDP
// and TCP give no identity; DTLS/TLS fill it in.
struct PeerIdentity {
  std::string transport;  // "udp", "tcp", "dtls", ...
  std::string address;
  std::optional<std::string> psk_identity;
  std::optional<std::string> certificate_cn;
  std::optional<Bytes> public_key;  // RPK: the SubjectPublicKeyInfo it proved
  // OSCORE (Transport TS 5.5): the context its requests verified with, named by the
  // client's Sender ID and ID Context (oscore_identity()).
  std::optional<std::string> oscore;
  // COSE over MQTT (Transport TS 8.6): the kid (hex) of the key its maps opened with.
  std::optional<std::string> cose;
  // HTTP (seed 004): the user an HTTP Digest response or a trusted proxy's header named.
  std::optional<std::string> http_user;
  bool secure() const {
    return psk_identity || certificate_cn || public_key || oscore || cose || http_user;
  }
  // What was proved, as one comparable string ("oscore:<id>", "psk:<hex>", "rpk:<hex>",
  // "x509:<hex>"); "" for none. OSCORE comes first: it reaches end to end.
  std::string key() const;
};

// Whether `peer` is who made `r`: the same (D)TLS identity, or plain UDP/TCP for a plain
// registration; a legacy '*' registration takes any secure peer.
bool speaks_for(const Registration& r, const PeerIdentity& peer);

// Decides whether `endpoint` may register from `peer`: Ok, or an error whose reason starts
// with its code (4.03 not allowed, 4.00 identity does not match the name).
using RegistrationPolicy =
    std::function<Result<Ok>(const std::string& endpoint, const PeerIdentity& peer)>;

struct RegistryConfig {
  std::uint32_t default_lifetime = 86400;  // Core TS: lt defaults to 86400 s
  // Registrations live this much past their lifetime, for Updates delayed in the network.
  std::uint32_t expiry_grace_seconds = 0;
};

// How the fleet divides, kept as registrations come and go so that a console asks for it
// at no cost (by binding letters, LwM2M version, transport and security mode).
struct FleetCounts {
  std::map<std::string, std::size_t> binding;
  std::map<std::string, std::size_t> version;
  std::map<std::string, std::size_t> transport;
  std::map<std::string, std::size_t> security;
  std::size_t queue_mode = 0;  // registered in queue mode (awake or sleeping)
  friend bool operator==(const FleetCounts&, const FleetCounts&) = default;
};

class RegistrationRegistry {
 public:
  RegistrationRegistry(RegistryConfig config, Random& random);
  // ordered_ points into by_endpoint_: a copy would point into the original.
  RegistrationRegistry(const RegistrationRegistry&) = delete;
  RegistrationRegistry& operator=(const RegistrationRegistry&) = delete;

  struct Registered {
    Registration registration;
    std::optional<Registration> replaced;  // the same endpoint's earlier registration
  };
  // Core TS 6.2.1. A second Register of an endpoint replaces the first, under a new ID.
  Result<Registered> register_client(const lwm2m::RegisterRequest& request,
                                     const PeerIdentity& peer, UnixMillis now);
  // Core TS 6.2.2: only what the request carries changes; the peer's address is refreshed.
  // Transport TS 5.2.6: the peer must be the one that registered (the same (D)TLS identity,
  // or none for a plain registration) and pass the policy; anyone else gets 4.04, as if
  // the location did not exist, so a client that lost its identity registers again.
  // The registration as it now is (valid until the registry next changes): an Update copies
  // nothing.
  Result<const Registration*> update(const lwm2m::UpdateRequest& request, const PeerIdentity& peer,
                                     UnixMillis now);
  // Core TS 6.2.3, with the same check as update().
  Result<Registration> deregister(const lwm2m::DeregisterRequest& request,
                                  const PeerIdentity& peer);
  // Removes and returns the registrations whose lifetime (plus grace) has passed, earliest
  // first, at most `at_most` of them (the rest wait for the next call).
  std::vector<Registration> expire(UnixMillis now,
                                   std::size_t at_most = std::numeric_limits<std::size_t>::max());
  // No later than the earliest deadline; possibly earlier (a deadline an Update moved), which
  // costs an expire() call that finds nothing.
  std::optional<UnixMillis> next_expiry();
  // Puts back a registration loaded from a store (no checks, same ID).
  void restore(Registration registration);
  // Removes an endpoint's registration (an operator's decision, not the client's).
  std::optional<Registration> remove(const std::string& endpoint);

  const Registration* find(const std::string& endpoint) const;
  const Registration* find_by_id(const std::string& id) const;
  std::size_t size() const { return by_endpoint_.size(); }
  const FleetCounts& counts() const { return counts_; }
  // Walks the registrations in endpoint order, from the first name after `after` ("" for
  // the start) that begins with `prefix`, while `visit` returns true: a page costs
  // O(log n + what it visits), whatever the fleet's size.
  void walk(std::string_view after, std::string_view prefix,
            const std::function<bool(const Registration&)>& visit) const;

  void set_policy(RegistrationPolicy policy) { policy_ = std::move(policy); }

 private:
  std::string new_id();
  // The registration at `location` if `peer` may act on it.
  Result<Registration*> owned_by(const std::string& location, const PeerIdentity& peer);
  // Indexes a registration already in by_endpoint_ (the index points at it).
  void index(Registration& stored);
  // What counts_ counts a registration by.
  struct CountedKind {
    std::string binding, version, transport, security;
    bool queue_mode = false;
    friend bool operator==(const CountedKind&, const CountedKind&) = default;
  };
  static CountedKind counted_kind(const Registration& r);
  // Adds (+1) or takes away (-1) one registration from counts_.
  void tally(const CountedKind& k, int sign);
  void tally(const Registration& r, int sign);
  UnixMillis deadline(const Registration& r) const;

  RegistryConfig config_;
  Random& random_;
  PayloadPool payloads_;
  RegistrationPolicy policy_;
  std::unordered_map<std::string, Registration> by_endpoint_;
  // ID -> the registration in by_endpoint_ (nodes never move while they exist).
  std::unordered_map<std::string, Registration*> by_id_;
  // The same registrations in endpoint order; keys and values point into by_endpoint_,
  // whose nodes never move.
  std::map<std::string_view, const Registration*> ordered_;
  FleetCounts counts_;
  // Lazy min-heap of (deadline, endpoint): stale entries are skipped when popped.
  using Deadline = std::pair<UnixMillis, std::string>;
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines_;
  // The heap top next_expiry() last found current: looked up again only when the top changes.
  std::optional<UnixMillis> checked_top_;
};

}  // namespace tether::server
