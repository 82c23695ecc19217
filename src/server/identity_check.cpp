#include "server/identity_check.hpp"

namespace tether::server {

namespace {
// Whether `c` is what `peer` proved (the same PSK identity, public key or certificate CN).
bool proves_session(const Credentials& c, const PeerIdentity& peer) {
  switch (c.kind) {
    case Credentials::Kind::kPsk:
      return peer.psk_identity == c.psk_identity;
    case Credentials::Kind::kRpk:
      return peer.public_key.has_value() && *peer.public_key == c.public_key;
    case Credentials::Kind::kX509:
      return peer.certificate_cn == (c.x509_common_name.empty() ? c.endpoint : c.x509_common_name);
    case Credentials::Kind::kOscore:
      // Transport TS 5.5.5: the context belongs to this endpoint alone.
      return peer.oscore == oscore_identity(c.oscore.sender_id, c.oscore.id_context);
    case Credentials::Kind::kCose:
      return peer.cose == to_hex(c.cose.kid);
    case Credentials::Kind::kDigest:
      return peer.http_user == c.endpoint;
  }
  return false;
}

bool proves(const Credentials& c, const PeerIdentity& peer) {
  if (!proves_session(c, peer)) return false;
  // OSCORE inside (D)TLS: the context must be this endpoint's as well.
  if (c.kind != Credentials::Kind::kOscore && c.has_oscore()) {
    return peer.oscore == oscore_identity(c.oscore.sender_id, c.oscore.id_context);
  }
  return true;
}
}  // namespace

Result<Ok> check_identity(const Credentials& c, const PeerIdentity& peer,
                          lwm2m::Status insecure_code) {
  if (!peer.secure()) {
    return lwm2m::reject(insecure_code, "endpoint " + c.endpoint + " must connect securely");
  }
  if (!proves(c, peer)) {
    return lwm2m::reject(lwm2m::status::kBadRequest,
                         "the secure identity does not match endpoint " + c.endpoint);
  }
  return Ok{};
}

}  // namespace tether::server
