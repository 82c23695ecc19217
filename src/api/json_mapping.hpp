#pragma once
// The REST API's JSON shapes (docs/api.md): registrations, LwM2M answers, events and
// credentials. Values are typed by the object model through lwm2m/json_values.
#include <nlohmann/json.hpp>
#include <string>

#include "common/result.hpp"
#include "lwm2m/model/object_definition.hpp"
#include "lwm2m/operation/downlink_request.hpp"
#include "server/registration.hpp"
#include "server/server_event.hpp"
#include "server/store/credentials_json.hpp"
#include "server/store/server_store.hpp"

namespace tether::api {

using nlohmann::json;
using server::credentials_from_json;
using server::credentials_json;

std::string iso8601(server::UnixMillis t);
json registration_json(const server::Registration& r);
// {"code": "2.05", "status": "Content", "format": "tlv", "values": {...}} and, per kind of
// answer, "records" (time series), "links" (Discover) or "location" (Create).
// With `model`, values of objects it does not define that came as bytes show as hex.
json response_json(const lwm2m::DownlinkResponse& r, const lwm2m::model::Model* model = nullptr);
json event_json(const server::ServerEvent& e, const lwm2m::model::Model* model = nullptr);

// Write and Create bodies: {"/3/0/14": "+02"} or keys relative to `target` ({"14": "+02"};
// under an object path a relative key is a resource of a new instance), or, at a resource
// path, a bare JSON value. A multiple-instance resource is an array (IDs 0, 1, ...) or an
// object of instance IDs, at its own path or as the value of its key. Types come from the model.
Result<lwm2m::Tree> tree_from_json(const std::string& body, const lwm2m::Path& target,
                                   const lwm2m::model::Model& model);
Result<std::vector<lwm2m::Record>> records_from_body(const json& values,
                                                     const lwm2m::model::Model& model);

}  // namespace tether::api
