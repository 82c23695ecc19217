#pragma once
// One client's registration as the server keeps it (Core TS 6.2): what it registered with,
// where it is reached and when it was last heard from. Times are Unix milliseconds, so a
// stored registration keeps its meaning across a restart.
#include <cstdint>
#include <optional>
#include <string>

#include "common/clock.hpp"
#include "lwm2m/format/link_format.hpp"
#include "server/shared_payload.hpp"

namespace tether::server {

using tether::UnixMillis;

struct Registration {
  std::string id;  // the location under /rd ("/rd/{id}")
  std::string endpoint;
  std::string version = "1.0";
  std::string binding = "U";
  bool queue_mode = false;
  std::uint32_t lifetime = 86400;  // seconds
  std::optional<std::string> sms;
  std::optional<std::string> profile_id;
  SharedPayload objects;  // shared between registrations with the same list
  // Where it is reached: the transport's name ("udp", "tcp") and the peer's address as that
  // transport writes it ("[::1]:56830", "127.0.0.1:40000").
  std::string transport;
  std::string address;
  // Who registered (PeerIdentity::key()): "" over plain UDP/TCP, else the identity the
  // (D)TLS session proved. Update and De-register must come from the same one
  // (Transport TS 5.2.6); the location alone is never enough.
  std::string identity;
  UnixMillis registered_at = 0;
  UnixMillis updated_at = 0;

  // A registration stored before identities were kept, made over DTLS or TLS: its next
  // Update may come from any identity the registration policy admits, and pins it.
  static constexpr const char* kAnySecureIdentity = "*";

  UnixMillis expires_at() const { return updated_at + static_cast<UnixMillis>(lifetime) * 1000; }
  friend bool operator==(const Registration&, const Registration&) = default;
};

// What an Update (Core TS 6.2.2) without an object list can change in a registration, so
// a store rewrites only these (issue 22).
struct UpdatedFields {
  std::string id;  // which registration: a store may check it is still the one it holds
  std::string binding;
  bool queue_mode = false;
  std::uint32_t lifetime = 0;
  std::optional<std::string> sms;
  std::optional<std::string> profile_id;
  std::string transport;
  std::string address;
  std::string identity;
  UnixMillis updated_at = 0;

  static UpdatedFields of(const Registration& r) {
    return {r.id,         r.binding,   r.queue_mode, r.lifetime, r.sms,
            r.profile_id, r.transport, r.address,    r.identity, r.updated_at};
  }
  void apply_to(Registration& r) const {
    r.binding = binding;
    r.queue_mode = queue_mode;
    r.lifetime = lifetime;
    r.sms = sms;
    r.profile_id = profile_id;
    r.transport = transport;
    r.address = address;
    r.identity = identity;
    r.updated_at = updated_at;
  }
};

// How the client proved itself, from its identity: "psk", "rpk", "x509", "oscore", ... or
// "none" over plain UDP/TCP.
inline std::string security_of(const Registration& r) {
  if (r.identity.empty()) return "none";
  const auto colon = r.identity.find(':');
  return colon == std::string::npos ? "secure" : r.identity.substr(0, colon);
}

}  // namespace tether::server
