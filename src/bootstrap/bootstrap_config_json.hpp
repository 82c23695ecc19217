#pragma once
// Bootstrap configurations as JSON (docs/bootstrap.md): the config file of `tether
// bootstrap`, its store and /api/bootstrap/{ep}. Resources of the Security, Server, Access
// Control and OSCORE objects go by name ("uri", "shortServerId", ...) or by number; values
// are typed by the object model; Opaque takes base64, {"hex": "..."} or {"text": "..."}.
#include <nlohmann/json.hpp>
#include <string>

#include "bootstrap/bootstrap_config.hpp"
#include "common/result.hpp"
#include "lwm2m/model/object_definition.hpp"
#include "server/store/credentials_json.hpp"

namespace tether::bootstrap {

// Parses and validates one endpoint's configuration.
Result<BootstrapConfig> config_from_json(const std::string& endpoint, const nlohmann::json& j,
                                         const lwm2m::model::Model& model);
// With Secrets::kHide (API answers) the Security object's Secret Key and SMS Binding Secret
// Keys, the OSCORE Master Secret and credential keys show as {"set": true} (or "keySet").
nlohmann::json config_to_json(const BootstrapConfig& config, server::Secrets secrets);

}  // namespace tether::bootstrap
