#include "lwm2m/model/object_registry.hpp"

#include <atomic>

namespace tether::lwm2m::model {

namespace {
// Unique across registries, so that a view never mistakes a moved-in registry for the one
// it cached from.
std::uint64_t next_generation() {
  static std::atomic<std::uint64_t> counter{1};
  return ++counter;
}
}  // namespace

ObjectRegistry::ObjectRegistry(const ObjectRegistry& other)
    : definitions_(other.definitions_), generation_(next_generation()) {
  for (const auto& [key, definition] : definitions_) index_newest(key.first);
}

ObjectRegistry& ObjectRegistry::operator=(const ObjectRegistry& other) {
  if (this != &other) {
    definitions_ = other.definitions_;
    generation_ = next_generation();
    newest_.clear();
    for (const auto& [key, definition] : definitions_) index_newest(key.first);
  }
  return *this;
}

void ObjectRegistry::add(ObjectDefinition definition) {
  const std::uint16_t id = definition.id;
  auto key = std::make_pair(id, definition.version);
  definitions_.insert_or_assign(std::move(key), std::move(definition));
  generation_ = next_generation();
  index_newest(id);
}

// Decoders ask for the newest version once per value: keep the answer ready.
void ObjectRegistry::index_newest(std::uint16_t object_id) {
  const ObjectDefinition* newest = nullptr;
  for (auto it = definitions_.lower_bound({object_id, std::string()});
       it != definitions_.end() && it->first.first == object_id; ++it) {
    if (!newest || compare_versions(it->second.version, newest->version) > 0) newest = &it->second;
  }
  newest_[object_id] = newest;
}

const ObjectDefinition* ObjectRegistry::object(std::uint16_t object_id) const {
  auto it = newest_.find(object_id);
  return it == newest_.end() ? nullptr : it->second;
}

const ObjectDefinition* ObjectRegistry::newest_for(std::uint16_t object_id,
                                                   std::string_view lwm2m_version) const {
  const ObjectDefinition* best = nullptr;
  const std::string limit(lwm2m_version);
  for (auto it = definitions_.lower_bound({object_id, std::string()});
       it != definitions_.end() && it->first.first == object_id; ++it) {
    const ObjectDefinition* d = &it->second;
    if (compare_versions(d->lwm2m_version, limit) > 0) continue;
    if (best == nullptr || compare_versions(d->version, best->version) > 0) best = d;
  }
  return best != nullptr ? best : object(object_id);
}

const ObjectDefinition* VersionedModel::object(std::uint16_t object_id) const {
  if (chosen_generation_ != registry_.generation()) {
    chosen_.clear();
    chosen_generation_ = registry_.generation();
  }
  auto [it, fresh] = chosen_.try_emplace(object_id, nullptr);
  if (fresh) it->second = registry_.newest_for(object_id, version_);
  return it->second;
}

void VersionedModel::set_lwm2m_version(std::string version) {
  version_ = std::move(version);
  chosen_.clear();
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
