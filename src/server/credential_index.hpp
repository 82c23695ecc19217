#pragma once
// The credentials on file per endpoint, indexed by what a client proves in its (D)TLS
// handshake: a PSK identity, a raw public key or a certificate CN. The handshakes' lookups
// (the key of a PSK identity, whether a raw key is known) and Transport TS 5.2.6's name
// check then cost one hash lookup. Shared by the LwM2M server (its security store) and the
// bootstrap server (the credentials of its configurations).
#include <map>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "lwm2m/operation/status.hpp"
#include "server/registration_registry.hpp"
#include "server/store/server_store.hpp"

namespace tether::server {

class CredentialIndex {
 public:
  // Ok unless another endpoint already proves itself with the same identity (4.09): a
  // handshake could not tell the two apart. Call before storing `c`, then put() it.
  Result<Ok> check_unique(const Credentials& c) const;
  // Adds or replaces the credentials of c.endpoint.
  void put(Credentials c);
  bool remove(const std::string& endpoint);

  const Credentials* find(const std::string& endpoint) const;
  const std::map<std::string, Credentials>& all() const { return by_endpoint_; }

  // For the (D)TLS servers: the key of a PSK identity, whether a raw public key is on file.
  std::optional<Bytes> psk_key_for(ByteView identity) const;
  bool knows_public_key(ByteView spki) const;

  // The endpoint a secure peer may act as: the one whose credentials it proved; a
  // certificate from a trusted CA with nothing on file names its endpoint by its CN.
  std::optional<std::string> endpoint_for(const PeerIdentity& peer) const;
  // Transport TS 5.2.6 for `endpoint`: with credentials on file the peer must prove them
  // (`insecure_code` without a secure channel, 4.00 for another identity); without, a
  // secure peer may only act as the endpoint its identity names (4.00).
  Result<Ok> admit(const std::string& endpoint, const PeerIdentity& peer,
                   lwm2m::Status insecure_code) const;

 private:
  std::map<std::string, Credentials> by_endpoint_;
  // What a client proves (kind and value, see identity_key) -> endpoint.
  std::unordered_map<std::string, std::string> endpoint_by_identity_;
};

}  // namespace tether::server
