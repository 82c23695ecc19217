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

PeerIdentity identify(const Carrier& carrier, coap::PeerId peer) {
  PeerIdentity id{carrier.name, carrier.transport->describe(peer),
                  std::nullopt, std::nullopt,
                  std::nullopt, std::nullopt};
  if (carrier.oscore != nullptr) {
    if (const std::string* name = carrier.oscore->bound_name(carrier.name, peer)) {
      // Our Recipient ID is the client's Sender ID; the configured ID Context names it even
      // after a re-derivation (RFC 8613 B.2) changed the context's.
      if (const auto* input = carrier.oscore->input_of(*name)) {
        id.oscore = oscore_identity(input->recipient_id, input->id_context);
      }
    }
  }
  auto* layer = carrier.transport->secure_layer();
  const tls::PeerIdentity* proved = layer != nullptr ? layer->identity(peer) : nullptr;
  if (proved == nullptr) return id;
  switch (proved->kind) {
    case tls::PeerIdentity::Kind::kPsk:
      id.psk_identity = proved->psk_identity;
      break;
    case tls::PeerIdentity::Kind::kRawPublicKey:
      id.public_key = proved->public_key;
      break;
    case tls::PeerIdentity::Kind::kCertificate:
      id.certificate_cn = proved->common_name;
      break;
    case tls::PeerIdentity::Kind::kNone:
      break;
  }
  return id;
}

}  // namespace tether::server
