#include "lwm2m/tree.hpp"

namespace tether::lwm2m {

Result<Ok> Tree::set(const Path& path, Value value) {
  if (path.depth() < 3) return fail("a value needs a resource or resource-instance path");
  auto& resource =
      objects[path.object_id()].instances[path.instance_id()].resources[path.resource_id()];
  const bool is_instance = path.is_resource_instance();
  const bool fresh = !resource.multiple && resource.value.is_none() && resource.instances.empty();
  if (!fresh && resource.multiple != is_instance)
    return fail(path.to_string() + " mixes single- and multiple-instance forms");
  resource.multiple = is_instance;
  if (is_instance) {
    resource.instances[path.resource_instance_id()] = std::move(value);
  } else {
    resource.value = std::move(value);
  }
  return Ok{};
}

Result<Ok> Tree::add_node(const Path& path) {
  if (path.is_root() || path.is_resource_instance())
    return fail("only objects, instances and multiple resources can be empty nodes");
  auto& object = objects[path.object_id()];
  if (path.is_object()) return Ok{};
  auto& instance = object.instances[path.instance_id()];
  if (path.is_instance()) return Ok{};
  auto& resource = instance.resources[path.resource_id()];
  if (!resource.multiple && !resource.value.is_none())
    return fail(path.to_string() + " is already a single-instance resource");
  resource.multiple = true;
  return Ok{};
}

const InstanceNode* Tree::find_instance(const Path& path) const {
  if (path.depth() < 2) return nullptr;
  const auto* object = objects.find(path.object_id());
  return object ? object->instances.find(path.instance_id()) : nullptr;
}

const ResourceNode* Tree::find_resource(const Path& path) const {
  if (path.depth() < 3) return nullptr;
  const auto* instance = find_instance(path);
  return instance ? instance->resources.find(path.resource_id()) : nullptr;
}

const Value* Tree::find_value(const Path& path) const {
  const auto* resource = find_resource(path);
  if (!resource) return nullptr;
  if (path.is_resource()) return resource->multiple ? nullptr : &resource->value;
  return resource->multiple ? resource->instances.find(path.resource_instance_id()) : nullptr;
}

bool Tree::contains(const Path& path) const {
  switch (path.depth()) {
    case 0:
      return true;
    case 1:
      return objects.contains(path.object_id());
    case 2:
      return find_instance(path) != nullptr;
    case 3:
      return find_resource(path) != nullptr;
    default:
      return find_value(path) != nullptr;
  }
}

std::size_t Tree::leaf_count() const {
  std::size_t n = 0;
  for (const auto& [oid, object] : objects)
    for (const auto& [iid, instance] : object.instances)
      for (const auto& [rid, resource] : instance.resources)
        n += resource.multiple ? resource.instances.size() : 1;
  return n;
}

std::vector<Record> Tree::records() const {
  std::vector<Record> out;
  out.reserve(leaf_count());
  for (const auto& [oid, object] : objects) {
    for (const auto& [iid, instance] : object.instances) {
      for (const auto& [rid, resource] : instance.resources) {
        Path path{oid, iid, rid};
        if (!resource.multiple) {
          out.push_back(Record{path, resource.value, std::nullopt});
          continue;
        }
        for (const auto& [riid, value] : resource.instances)
          out.push_back(Record{path.child(riid), value, std::nullopt});
      }
    }
  }
  return out;
}

Result<Tree> Tree::from_records(std::span<const Record> records) {
  Tree tree;
  for (const auto& record : records) {
    if (tree.find_value(record.path)) return fail(record.path.to_string() + " appears twice");
    auto set = tree.set(record.path, record.value);
    if (!set) return set.error();
  }
  return tree;
}

}  // namespace tether::lwm2m
