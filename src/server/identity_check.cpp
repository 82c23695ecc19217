#include "server/identity_check.hpp"

namespace tether::server {

Result<Ok> check_identity(const Credentials& c, const PeerIdentity& peer,
                          lwm2m::Status insecure_code) {
  if (!peer.secure()) {
    return lwm2m::reject(insecure_code, "endpoint " + c.endpoint + " must connect securely");
  }
  if (c.kind == Credentials::Kind::kPsk && peer.psk_identity != c.psk_identity) {
    return lwm2m::reject(lwm2m::status::kBadRequest,
                         "the PSK identity does not match endpoint " + c.endpoint);
  }
  if (c.kind == Credentials::Kind::kX509 &&
      peer.certificate_cn != (c.x509_common_name.empty() ? c.endpoint : c.x509_common_name)) {
    return lwm2m::reject(lwm2m::status::kBadRequest,
                         "the certificate CN does not match endpoint " + c.endpoint);
  }
  return Ok{};
}

}  // namespace tether::server
