#include "server/store/server_store.hpp"

#include <algorithm>

namespace tether::server {

const char* credentials_kind_name(Credentials::Kind kind) {
  switch (kind) {
    case Credentials::Kind::kPsk:
      return "psk";
    case Credentials::Kind::kRpk:
      return "rpk";
    case Credentials::Kind::kX509:
      return "x509";
    case Credentials::Kind::kOscore:
      return "oscore";
    case Credentials::Kind::kCose:
      return "cose";
    case Credentials::Kind::kDigest:
      return "digest";
  }
  return "psk";
}

std::optional<Credentials::Kind> credentials_kind_from(const std::string& name) {
  if (name == "psk") return Credentials::Kind::kPsk;
  if (name == "rpk") return Credentials::Kind::kRpk;
  if (name == "x509") return Credentials::Kind::kX509;
  if (name == "oscore") return Credentials::Kind::kOscore;
  if (name == "cose") return Credentials::Kind::kCose;
  if (name == "digest") return Credentials::Kind::kDigest;
  return std::nullopt;
}

Result<std::uint64_t> ServerStore::reserve_sequences(const std::string& endpoint,
                                                     std::uint64_t from, std::uint64_t step) {
  auto stored = load_credentials_of(endpoint);
  if (!stored) return stored.error();
  if (!*stored || !(*stored)->has_oscore()) return fail("no OSCORE credentials for " + endpoint);
  Credentials& c = **stored;
  const std::uint64_t start = std::max(from, c.oscore.sequence_bound);
  c.oscore.sequence_bound = start + step;
  if (auto ok = save_credentials(c); !ok) return ok.error();
  if (auto ok = flush(); !ok) return ok.error();
  return start;
}

std::string oscore_identity(ByteView client_sender_id, const std::optional<Bytes>& id_context) {
  std::string id = to_hex(client_sender_id);
  if (id_context) id += "/" + to_hex(*id_context);
  return id;
}

}  // namespace tether::server
