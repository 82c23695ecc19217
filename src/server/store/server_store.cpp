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
  }
  return "psk";
}

std::optional<Credentials::Kind> credentials_kind_from(const std::string& name) {
  if (name == "psk") return Credentials::Kind::kPsk;
  if (name == "rpk") return Credentials::Kind::kRpk;
  if (name == "x509") return Credentials::Kind::kX509;
  return std::nullopt;
}

}  // namespace tether::server
