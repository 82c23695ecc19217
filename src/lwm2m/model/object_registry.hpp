#pragma once
// Every known object definition, by ID and object version. Loaded from the definitions the
// stack ships (models/ in the source tree, compiled in) and from users' XML files.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "lwm2m/model/object_definition.hpp"

namespace tether::lwm2m::model {

class ObjectRegistry : public Model {
 public:
  ObjectRegistry() = default;
  // Copies re-point their newest-version index at their own definitions.
  ObjectRegistry(const ObjectRegistry& other);
  ObjectRegistry& operator=(const ObjectRegistry& other);
  ObjectRegistry(ObjectRegistry&&) noexcept = default;
  ObjectRegistry& operator=(ObjectRegistry&&) noexcept = default;
  ~ObjectRegistry() override = default;

  // A registry holding the definitions shipped with Tether.
  static ObjectRegistry with_builtin();

  // Adds or replaces the definition for (id, version).
  void add(ObjectDefinition definition);
  // The newest version of an object.
  const ObjectDefinition* object(std::uint16_t object_id) const override;
  const ObjectDefinition* find(std::uint16_t object_id, std::string_view version) const;
  // The newest version made for `lwm2m_version` or an older LwM2M version (LWM2MVersion);
  // the newest of all when only newer LwM2M versions define the object.
  const ObjectDefinition* newest_for(std::uint16_t object_id, std::string_view lwm2m_version) const;
  std::vector<const ObjectDefinition*> all() const;
  // Changes whenever a definition is added or replaced (views drop what they chose).
  std::uint64_t generation() const { return generation_; }

  // Parses one LWM2M.xsd document (one or more <Object> elements) and adds its objects.
  Result<std::size_t> load_xml(std::string_view xml, std::string_view origin = "xml");
  Result<std::size_t> load_file(const std::string& path);
  // Every *.xml file in a folder (not recursive); the first bad file fails the load.
  Result<std::size_t> load_directory(const std::string& path);

 private:
  void index_newest(std::uint16_t object_id);

  std::map<std::pair<std::uint16_t, std::string>, ObjectDefinition> definitions_;
  std::map<std::uint16_t, const ObjectDefinition*> newest_;  // points into definitions_
  std::uint64_t generation_ = 0;                             // 0 until the first definition
};

// What a peer speaking one LwM2M version uses (a client is consistent: Register, Discover
// and Bootstrap-Discover name the same object versions as the lwm2m= it claims).
class VersionedModel final : public Model {
 public:
  VersionedModel(const ObjectRegistry& registry, std::string lwm2m_version)
      : registry_(registry), version_(std::move(lwm2m_version)) {}
  // Decoders ask once per value, so the choice per object is kept until the version or the
  // registry changes.
  const ObjectDefinition* object(std::uint16_t object_id) const override;
  void set_lwm2m_version(std::string version);
  const std::string& lwm2m_version() const { return version_; }
  const ObjectRegistry& registry() const { return registry_; }

 private:
  const ObjectRegistry& registry_;
  std::string version_;
  mutable std::map<std::uint16_t, const ObjectDefinition*> chosen_;
  mutable std::uint64_t chosen_generation_ = 0;
};

}  // namespace tether::lwm2m::model
