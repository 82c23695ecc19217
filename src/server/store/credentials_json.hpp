#pragma once
// Per-endpoint credentials as JSON, shared by the REST API, the bootstrap server's
// configuration and its stores: {"mode": "psk", "identity": "...", "key": "hex"},
// {"mode": "rpk", "publicKey": "hex"}, {"mode": "x509", "commonName": "..."},
// {"mode": "oscore", "masterSecret": "hex", "senderId": "hex", "recipientId": "hex", ...}.
#include <nlohmann/json.hpp>
#include <string>

#include "common/result.hpp"
#include "server/store/server_store.hpp"

namespace tether::server {

// Whether JSON meant for a reader carries the secrets (stores) or only says they are set
// (every API answer: a GET never returns a key).
enum class Secrets { kInclude, kHide };

// With kHide a PSK is {"mode": "psk", "identity": "...", "keySet": true}, and OSCORE says
// "masterSecretSet" instead of the secret.
nlohmann::json credentials_json(const Credentials& c, Secrets secrets);
// Checks what reaches logs and stores: the identity and common name are UTF-8 without
// control characters, at most 256 bytes.
Result<Credentials> credentials_from_json(const std::string& endpoint, const nlohmann::json& j);

}  // namespace tether::server
