#include "server/identity_check.hpp"

namespace tether::server {

bool proves(const Credentials& c, const PeerIdentity& peer) {
  switch (c.kind) {
    case Credentials::Kind::kPsk:
      return peer.psk_identity == c.psk_identity;
    case Credentials::Kind::kRpk:
      return peer.public_key.has_value() && *peer.public_key == c.public_key;
    case Credentials::Kind::kX509:
      return peer.certificate_cn == (c.x509_common_name.empty() ? c.endpoint : c.x509_common_name);
  }
  return false;
}

Result<Ok> check_identity(const Credentials& c, const PeerIdentity& peer,
                          lwm2m::Status insecure_code) {
  if (!peer.secure()) {
    return lwm2m::reject(insecure_code, "endpoint " + c.endpoint + " must connect securely");
  }
  if (!proves(c, peer)) {
    return lwm2m::reject(lwm2m::status::kBadRequest,
                         "the (D)TLS identity does not match endpoint " + c.endpoint);
  }
  return Ok{};
}

std::string identity_key(Credentials::Kind kind, std::string_view value) {
  return std::string(credentials_kind_name(kind)) + ":" + std::string(value);
}

std::string identity_key(const Credentials& c) {
  switch (c.kind) {
    case Credentials::Kind::kPsk:
      return identity_key(c.kind, c.psk_identity);
    case Credentials::Kind::kRpk:
      return identity_key(c.kind, to_string(c.public_key));
    case Credentials::Kind::kX509:
      return identity_key(c.kind, c.x509_common_name.empty() ? c.endpoint : c.x509_common_name);
  }
  return {};
}

std::vector<std::string> identity_keys(const PeerIdentity& peer) {
  std::vector<std::string> keys;
  if (peer.psk_identity) keys.push_back(identity_key(Credentials::Kind::kPsk, *peer.psk_identity));
  if (peer.public_key) {
    keys.push_back(identity_key(Credentials::Kind::kRpk, to_string(*peer.public_key)));
  }
  if (peer.certificate_cn) {
    keys.push_back(identity_key(Credentials::Kind::kX509, *peer.certificate_cn));
  }
  return keys;
}

PeerIdentity identify(const Carrier& carrier, coap::PeerId peer) {
  PeerIdentity id{carrier.name, carrier.transport->describe(peer), std::nullopt, std::nullopt,
                  std::nullopt};
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

std::optional<std::string> endpoint_of(const std::vector<const Credentials*>& on_file,
                                       const PeerIdentity& peer) {
  if (!peer.secure()) return std::nullopt;
  for (const Credentials* c : on_file) {
    if (proves(*c, peer)) return c->endpoint;
  }
  if (peer.certificate_cn && !peer.certificate_cn->empty()) return peer.certificate_cn;
  return std::nullopt;
}

}  // namespace tether::server
