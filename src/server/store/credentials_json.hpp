#pragma once
// Per-endpoint credentials as JSON, shared by the REST API, the bootstrap server's
// configuration and its stores: {"mode": "psk", "identity": "...", "key": "hex"},
// {"mode": "rpk", "publicKey": "hex"}, {"mode": "x509", "commonName": "..."}.
#include <nlohmann/json.hpp>
#include <string>

#include "common/result.hpp"
#include "server/store/server_store.hpp"

namespace tether::server {

nlohmann::json credentials_json(const Credentials& c);
Result<Credentials> credentials_from_json(const std::string& endpoint, const nlohmann::json& j);

}  // namespace tether::server
