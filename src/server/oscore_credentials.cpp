#include "server/oscore_credentials.hpp"

#include <algorithm>

#include "lwm2m/operation/status.hpp"

namespace tether::server {

oscore::ContextInput server_context_input(const OscoreKeys& keys) {
  oscore::ContextInput in;
  in.master_secret = keys.master_secret;
  in.master_salt = keys.master_salt;
  in.sender_id = keys.recipient_id;
  in.recipient_id = keys.sender_id;
  in.id_context = keys.id_context;
  in.aead = keys.aead;
  in.hkdf = keys.hkdf;
  return in;
}

Result<Ok> check_oscore(const oscore::Keyring& keyring, const Credentials& c) {
  if (!c.has_oscore()) return Ok{};
  if (auto ok = keyring.check(c.endpoint, server_context_input(c.oscore)); !ok) {
    return lwm2m::reject(lwm2m::status::kConflict, ok.error().reason);
  }
  return Ok{};
}

void carry_sequence_bound(const oscore::Keyring& keyring, const Credentials* old, Credentials& c) {
  if (!c.has_oscore()) return;
  std::uint64_t& bound = c.oscore.sequence_bound;
  if (old != nullptr && old->has_oscore()) {
    bound = std::max(bound, old->oscore.sequence_bound);
  }
  if (auto current = keyring.find(c.endpoint)) {
    bound = std::max(bound, current->sender_sequence() + kOscoreSequenceStep);
  }
}

Result<Ok> key_oscore(oscore::Keyring& keyring, const Credentials& c) {
  if (!c.has_oscore()) {
    keyring.remove(c.endpoint);
    return Ok{};
  }
  std::uint64_t first = c.oscore.sequence_bound;
  if (auto current = keyring.find(c.endpoint)) first = std::max(first, current->sender_sequence());
  return keyring.put(c.endpoint, server_context_input(c.oscore), first);
}

}  // namespace tether::server
