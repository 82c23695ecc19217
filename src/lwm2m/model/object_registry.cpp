#include "lwm2m/model/object_registry.hpp"

namespace tether::lwm2m::model {

void ObjectRegistry::add(ObjectDefinition definition) {
  auto key = std::make_pair(definition.id, definition.version);
  definitions_.insert_or_assign(std::move(key), std::move(definition));
}

const ObjectDefinition* ObjectRegistry::object(std::uint16_t object_id) const {
  const ObjectDefinition* newest = nullptr;
  for (auto it = definitions_.lower_bound({object_id, std::string()});
       it != definitions_.end() && it->first.first == object_id; ++it) {
    if (!newest || compare_versions(it->second.version, newest->version) > 0) newest = &it->second;
  }
  return newest;
}

const ObjectDefinition* ObjectRegistry::find(std::uint16_t object_id,
                                             std::string_view version) const {
  for (auto it = definitions_.lower_bound({object_id, std::string()});
       it != definitions_.end() && it->first.first == object_id; ++it) {
    if (compare_versions(it->second.version, std::string(version)) == 0) return &it->second;
  }
  return nullptr;
}

std::vector<const ObjectDefinition*> ObjectRegistry::all() const {
  std::vector<const ObjectDefinition*> out;
  out.reserve(definitions_.size());
  for (const auto& [key, definition] : definitions_) out.push_back(&definition);
  return out;
}

}  // namespace tether::lwm2m::model
