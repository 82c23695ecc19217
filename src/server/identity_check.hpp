#pragma once
// Transport TS 5.2.6: the endpoint name a client gives is not authenticated by the
// application layer, so it must match the identity its secure channel proved. Shared by
// the server (Register) and the bootstrap server (Bootstrap-Request).
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "lwm2m/operation/status.hpp"
#include "server/carrier_set.hpp"
#include "server/registration_registry.hpp"
#include "server/store/server_store.hpp"

namespace tether::server {

// Ok when `peer` proved `expected`. A peer without a secure channel is refused with
// `insecure_code` (the server answers 4.03, the bootstrap server 4.00: its Table 6.7-1 has
// no 4.03); an identity that does not match is 4.00.
Result<Ok> check_identity(const Credentials& expected, const PeerIdentity& peer,
                          lwm2m::Status insecure_code);

// What the carrier knows of `peer`: its address, and what its (D)TLS session proved.
PeerIdentity identify(const Carrier& carrier, coap::PeerId peer);

// Whether `c` is what `peer` proved (the same PSK identity, public key or certificate CN).
bool proves(const Credentials& c, const PeerIdentity& peer);

// What a credential of kind `kind` is looked up by: the PSK identity, the public key, or the
// certificate CN. Keys of different kinds never collide.
std::string identity_key(Credentials::Kind kind, std::string_view value);
// The key of what `c` expects a client to prove.
std::string identity_key(const Credentials& c);
// The keys of what `peer` proved (none for an insecure peer).
std::vector<std::string> identity_keys(const PeerIdentity& peer);

// The endpoint a secure peer may act as when it gives no name, or must give (5.2.6): the one
// whose credentials it proved; a certificate without credentials on file names its CN.
std::optional<std::string> endpoint_of(const std::vector<const Credentials*>& on_file,
                                       const PeerIdentity& peer);

}  // namespace tether::server
