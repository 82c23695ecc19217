#pragma once
// The object models as the API shows them (GET /api/models): what a console needs to draw
// an object tree and typed editors, from the same definitions the content formats use.
#include <nlohmann/json.hpp>

#include "lwm2m/model/object_definition.hpp"

namespace tether::api {

// {"id", "name", "version", "lwm2mVersion", "urn", "multiple", "mandatory", "approximate"}
nlohmann::json object_summary_json(const lwm2m::model::ObjectDefinition& o);
// The summary plus "description" and "resources": [{"id", "name", "operations" ("RW", "E",
// ""), "multiple", "mandatory", "type", "units", "rangeEnumeration", "description"}].
nlohmann::json object_json(const lwm2m::model::ObjectDefinition& o);

}  // namespace tether::api
