#pragma once
// Transport TS 5.2.6: the endpoint name a client gives is not authenticated by the
// application layer, so it must match the identity its secure channel proved. Shared by
// the server (Register) and the bootstrap server (Bootstrap-Request).
#include "common/result.hpp"
#include "lwm2m/operation/status.hpp"
#include "server/registration_registry.hpp"
#include "server/store/server_store.hpp"

namespace tether::server {

// Ok when `peer` proved `expected`. A peer without a secure channel is refused with
// `insecure_code` (the server answers 4.03, the bootstrap server 4.00: its Table 6.7-1 has
// no 4.03); an identity that does not match is 4.00.
Result<Ok> check_identity(const Credentials& expected, const PeerIdentity& peer,
                          lwm2m::Status insecure_code);

}  // namespace tether::server
