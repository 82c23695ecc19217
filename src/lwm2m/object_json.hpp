#pragma once
// The Security, Server, Access Control and OSCORE objects as JSON for people: sections by
// object ("security", "servers", "acl", "oscore") mapping instance IDs to instances whose
// resources go by name ("uri", "shortServerId", ...) or by number, and any other object in
// typed JSON under "objects" ({"/3303/0/5701": "Cel"}). Opaque values take base64,
// {"hex": "..."} or {"text": "..."}. A bootstrap configuration (docs/bootstrap.md) and a
// client's factory configuration and state file (docs/client.md) share this shape.
#include <nlohmann/json.hpp>
#include <string_view>

#include "common/result.hpp"
#include "lwm2m/model/object_definition.hpp"
#include "lwm2m/tree.hpp"

namespace tether::lwm2m {

// Whether `key` is one of the sections above (or "objects").
bool is_object_section(std::string_view key);
// Adds one section's values to `flat`, typed JSON keyed by absolute path.
Result<Ok> add_object_section(std::string_view key, const nlohmann::json& value,
                              nlohmann::json& flat);
// The typed values gathered by add_object_section as a tree.
Result<Tree> tree_from_flat_json(const nlohmann::json& flat, const model::Model& model);
// A whole document of sections only.
Result<Tree> tree_from_object_json(const nlohmann::json& j, const model::Model& model);
// Adds every instance of `tree` to `out` as sections.
void add_object_sections(const Tree& tree, nlohmann::json& out);

// One Security instance by resource names (a replacement Bootstrap-Server Account).
Result<InstanceNode> security_instance_from_json(const nlohmann::json& j,
                                                 const model::Model& model);
nlohmann::json security_instance_to_json(const InstanceNode& node);

}  // namespace tether::lwm2m
