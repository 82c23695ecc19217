#include "api/model_json.hpp"

#include <string>

namespace tether::api {

namespace {
std::string operations_text(std::uint8_t ops) {
  std::string out;
  if (ops & lwm2m::model::kRead) out += 'R';
  if (ops & lwm2m::model::kWrite) out += 'W';
  if (ops & lwm2m::model::kExecute) out += 'E';
  return out;
}
}  // namespace

nlohmann::json object_summary_json(const lwm2m::model::ObjectDefinition& o) {
  // `approximate`: from the registry package, which records no operations (all read RW).
  return nlohmann::json{{"id", o.id},
                        {"name", o.name},
                        {"version", o.version},
                        {"lwm2mVersion", o.lwm2m_version},
                        {"urn", o.urn},
                        {"multiple", o.multiple},
                        {"mandatory", o.mandatory},
                        {"approximate", o.approximate}};
}

nlohmann::json object_json(const lwm2m::model::ObjectDefinition& o) {
  nlohmann::json j = object_summary_json(o);
  j["description"] = o.description;
  nlohmann::json resources = nlohmann::json::array();
  for (const auto& r : o.resources) {
    resources.push_back(nlohmann::json{{"id", r.id},
                                       {"name", r.name},
                                       {"operations", operations_text(r.operations)},
                                       {"multiple", r.multiple},
                                       {"mandatory", r.mandatory},
                                       {"type", std::string(lwm2m::name_of(r.type))},
                                       {"units", r.units},
                                       {"rangeEnumeration", r.range_enumeration},
                                       {"description", r.description}});
  }
  j["resources"] = std::move(resources);
  return j;
}

}  // namespace tether::api
