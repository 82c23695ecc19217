#pragma once
// Object and resource definitions as the OMA object-definition XML (LWM2M.xsd) states them.
#include <cstdint>
#include <string>
#include <vector>

#include "lwm2m/value.hpp"

namespace tether::lwm2m::model {

// Bit set of the Operations element: "R", "W", "RW", "E", or empty.
enum Operation : std::uint8_t { kNoOperation = 0, kRead = 1, kWrite = 2, kExecute = 4 };

struct ResourceDefinition {
  std::uint16_t id = 0;
  std::string name;
  std::uint8_t operations = kNoOperation;
  bool multiple = false;
  bool mandatory = false;
  ResourceType type = ResourceType::kNone;
  std::string range_enumeration;
  std::string units;
  std::string description;

  bool readable() const { return (operations & kRead) != 0; }
  bool writable() const { return (operations & kWrite) != 0; }
  bool executable() const { return (operations & kExecute) != 0; }
};

struct ObjectDefinition {
  std::uint16_t id = 0;
  std::string name;
  std::string urn;                    // e.g. "urn:oma:lwm2m:oma:3:1.1"
  std::string version = "1.0";        // ObjectVersion; 1.0 when the XML leaves it out
  std::string lwm2m_version = "1.0";  // LWM2MVersion
  bool multiple = false;
  bool mandatory = false;
  std::string description;
  std::vector<ResourceDefinition> resources;  // sorted by id
  // From the registry package, which does not record Operations: every resource reads as
  // RW and executable ones are missing (tools/registry/registry_to_xml.py).
  bool approximate = false;

  const ResourceDefinition* resource(std::uint16_t resource_id) const;
};

// What the content formats need to know: the definition in force for an object (a server
// picks the version each client registered; a client knows its own).
class Model {
 public:
  virtual ~Model() = default;
  virtual const ObjectDefinition* object(std::uint16_t object_id) const = 0;

  const ResourceDefinition* resource(std::uint16_t object_id, std::uint16_t resource_id) const {
    const auto* o = object(object_id);
    return o ? o->resource(resource_id) : nullptr;
  }
  // A model that knows nothing: decoders fall back on each format's natural types.
  static const Model& empty();
};

// "1.1" < "1.2" < "1.10"; malformed versions compare as 0.0.
int compare_versions(const std::string& a, const std::string& b);

}  // namespace tether::lwm2m::model
