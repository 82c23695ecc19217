#include "server/store/server_store.hpp"

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

std::string oscore_identity(ByteView client_sender_id, const std::optional<Bytes>& id_context) {
  std::string id = to_hex(client_sender_id);
  if (id_context) id += "/" + to_hex(*id_context);
  return id;
}

}  // namespace tether::server
