#include "lwm2m/model/object_definition.hpp"

#include <algorithm>
#include <charconv>

namespace tether::lwm2m::model {

const ResourceDefinition* ObjectDefinition::resource(std::uint16_t resource_id) const {
  auto it = std::lower_bound(
      resources.begin(), resources.end(), resource_id,
      [](const ResourceDefinition& r, std::uint16_t wanted) { return r.id < wanted; });
  return it != resources.end() && it->id == resource_id ? &*it : nullptr;
}

namespace {
class EmptyModel final : public Model {
 public:
  const ObjectDefinition* object(std::uint16_t) const override { return nullptr; }
};

std::pair<unsigned, unsigned> split_version(const std::string& v) {
  unsigned major = 0, minor = 0;
  auto dot = v.find('.');
  if (dot == std::string::npos) return {0, 0};
  auto [p1, e1] = std::from_chars(v.data(), v.data() + dot, major);
  auto [p2, e2] = std::from_chars(v.data() + dot + 1, v.data() + v.size(), minor);
  if (e1 != std::errc() || e2 != std::errc() || p1 != v.data() + dot || p2 != v.data() + v.size())
    return {0, 0};
  return {major, minor};
}
}  // namespace

const Model& Model::empty() {
  static const EmptyModel model;
  return model;
}

int compare_versions(const std::string& a, const std::string& b) {
  auto va = split_version(a), vb = split_version(b);
  return va < vb ? -1 : va > vb ? 1 : 0;
}

}  // namespace tether::lwm2m::model
