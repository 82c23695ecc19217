#include "server/credential_index.hpp"

#include "server/identity_check.hpp"

namespace tether::server {

namespace {

// Keys of different kinds never collide: the kind's name comes first.
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
    case Credentials::Kind::kOscore:
      return identity_key(c.kind, oscore_identity(c.oscore.sender_id, c.oscore.id_context));
    case Credentials::Kind::kCose:
      return identity_key(c.kind, to_hex(c.cose.kid));
    case Credentials::Kind::kDigest:
      return identity_key(c.kind, c.endpoint);
  }
  return {};
}

}  // namespace

// OSCORE inside (D)TLS: the context is an identity of its own, beside the session's.
std::optional<std::string> inner_oscore_key(const Credentials& c) {
  if (c.kind == Credentials::Kind::kOscore || !c.has_oscore()) return std::nullopt;
  return identity_key(Credentials::Kind::kOscore,
                      oscore_identity(c.oscore.sender_id, c.oscore.id_context));
}

Result<Ok> CredentialIndex::check_unique(const Credentials& c) const {
  for (const auto& key : {std::optional<std::string>(identity_key(c)), inner_oscore_key(c)}) {
    if (!key) continue;
    auto it = endpoint_by_identity_.find(*key);
    if (it == endpoint_by_identity_.end() || it->second == c.endpoint) continue;
    return lwm2m::reject(lwm2m::status::kConflict,
                         "endpoint " + it->second + " already proves itself with this identity");
  }
  return Ok{};
}

void CredentialIndex::put(Credentials c) {
  remove(c.endpoint);
  endpoint_by_identity_[identity_key(c)] = c.endpoint;
  if (auto key = inner_oscore_key(c)) endpoint_by_identity_[*key] = c.endpoint;
  std::string endpoint = c.endpoint;
  by_endpoint_[std::move(endpoint)] = std::move(c);
}

bool CredentialIndex::remove(const std::string& endpoint) {
  auto it = by_endpoint_.find(endpoint);
  if (it == by_endpoint_.end()) return false;
  for (const auto& k :
       {std::optional<std::string>(identity_key(it->second)), inner_oscore_key(it->second)}) {
    if (!k) continue;
    if (auto key = endpoint_by_identity_.find(*k);
        key != endpoint_by_identity_.end() && key->second == endpoint) {
      endpoint_by_identity_.erase(key);
    }
  }
  by_endpoint_.erase(it);
  return true;
}

const Credentials* CredentialIndex::find(const std::string& endpoint) const {
  auto it = by_endpoint_.find(endpoint);
  return it == by_endpoint_.end() ? nullptr : &it->second;
}

std::optional<Bytes> CredentialIndex::psk_key_for(ByteView identity) const {
  auto it = endpoint_by_identity_.find(identity_key(Credentials::Kind::kPsk, to_string(identity)));
  if (it == endpoint_by_identity_.end()) return std::nullopt;
  return by_endpoint_.at(it->second).psk_key;
}

bool CredentialIndex::knows_public_key(ByteView spki) const {
  return endpoint_by_identity_.count(identity_key(Credentials::Kind::kRpk, to_string(spki))) != 0;
}

std::optional<std::string> CredentialIndex::endpoint_for(const PeerIdentity& peer) const {
  auto lookup = [this](Credentials::Kind kind,
                       const std::string& value) -> std::optional<std::string> {
    auto it = endpoint_by_identity_.find(identity_key(kind, value));
    if (it == endpoint_by_identity_.end()) return std::nullopt;
    return it->second;
  };
  if (peer.oscore) return lookup(Credentials::Kind::kOscore, *peer.oscore);
  if (peer.cose) return lookup(Credentials::Kind::kCose, *peer.cose);
  if (peer.psk_identity) return lookup(Credentials::Kind::kPsk, *peer.psk_identity);
  if (peer.public_key) return lookup(Credentials::Kind::kRpk, to_string(*peer.public_key));
  if (peer.certificate_cn && !peer.certificate_cn->empty()) {
    return lookup(Credentials::Kind::kX509, *peer.certificate_cn).value_or(*peer.certificate_cn);
  }
  // HTTP (seed 004): the Digest username, or the name a trusted proxy vouched for.
  if (peer.http_user) return *peer.http_user;
  return std::nullopt;
}

Result<Ok> CredentialIndex::admit(const std::string& endpoint, const PeerIdentity& peer,
                                  lwm2m::Status insecure_code) const {
  if (const Credentials* c = find(endpoint)) return check_identity(*c, peer, insecure_code);
  if (peer.secure() && endpoint_for(peer) != endpoint) {
    return lwm2m::reject(lwm2m::status::kBadRequest,
                         "the secure identity does not match endpoint " + endpoint);
  }
  return Ok{};
}

}  // namespace tether::server
