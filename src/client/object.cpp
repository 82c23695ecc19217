#include "client/object.hpp"

#include "lwm2m/operation/status.hpp"

namespace tether::client {

namespace {
using lwm2m::Path;
using lwm2m::reject;
namespace status = lwm2m::status;
}  // namespace

Result<Ok> Object::execute(std::uint16_t, std::uint16_t, std::string_view) {
  return reject(status::kMethodNotAllowed, "nothing to execute");
}

std::vector<std::uint16_t> Object::executables(std::uint16_t) const {
  return {};
}
Result<Ok> Object::create(std::uint16_t, const lwm2m::InstanceNode&) {
  return reject(status::kMethodNotAllowed, "instances cannot be created");
}
Result<Ok> Object::remove(std::uint16_t) {
  return reject(status::kMethodNotAllowed, "instances cannot be deleted");
}
Result<Ok> Object::remove_resource_instance(std::uint16_t, std::uint16_t, std::uint16_t) {
  return reject(status::kMethodNotAllowed, "resource instances cannot be deleted");
}

std::vector<std::uint16_t> DataObject::instances() const {
  std::vector<std::uint16_t> out;
  for (const auto& [iid, instance] : node_.instances) out.push_back(iid);
  return out;
}

Result<lwm2m::InstanceNode> DataObject::read(std::uint16_t instance) const {
  const auto* found = node_.instances.find(instance);
  if (found == nullptr) return reject(status::kNotFound, "no such instance");
  return *found;
}

Result<Ok> DataObject::write(std::uint16_t instance, const lwm2m::InstanceNode& values,
                             WriteMode mode, const std::function<bool(std::uint16_t)>& writable) {
  auto* target = node_.instances.find(instance);
  if (target == nullptr) return reject(status::kNotFound, "no such instance");
  if (mode == WriteMode::kReplaceInstance) {
    std::vector<std::uint16_t> dropped;
    for (const auto& [rid, resource] : target->resources) {
      if (writable(rid) && !values.resources.contains(rid)) dropped.push_back(rid);
    }
    for (auto rid : dropped) target->resources.erase(rid);
  }
  for (const auto& [rid, resource] : values.resources) {
    auto& stored = target->resources[rid];
    if (mode == WriteMode::kUpdate && resource.multiple && stored.multiple) {
      for (const auto& [riid, v] : resource.instances) stored.instances[riid] = v;
    } else {
      stored = resource;
    }
  }
  if (on_write_) on_write_(Path{id(), instance});
  changed(Path{id(), instance});
  return Ok{};
}

Result<Ok> DataObject::execute(std::uint16_t instance, std::uint16_t resource,
                               std::string_view arguments) {
  if (!node_.instances.contains(instance)) return reject(status::kNotFound, "no such instance");
  for (const auto& [rid, handler] : executes_) {
    if (rid == resource) return handler(instance, arguments);
  }
  return Ok{};  // an executable resource nobody hooked: accepted, nothing happens
}

std::vector<std::uint16_t> DataObject::executables(std::uint16_t instance) const {
  std::vector<std::uint16_t> out;
  if (!node_.instances.contains(instance)) return out;
  for (const auto& [rid, handler] : executes_) out.push_back(rid);
  return out;
}

Result<Ok> DataObject::create(std::uint16_t instance, const lwm2m::InstanceNode& values) {
  if (!allow_create_) return Object::create(instance, values);
  if (node_.instances.contains(instance)) {
    return reject(status::kBadRequest, "instance " + std::to_string(instance) + " exists");
  }
  node_.instances[instance] = values;
  if (on_write_) on_write_(Path{id(), instance});
  changed(Path{id()});
  return Ok{};
}

Result<Ok> DataObject::remove(std::uint16_t instance) {
  if (!node_.instances.erase(instance)) return reject(status::kNotFound, "no such instance");
  if (on_write_) on_write_(Path{id(), instance});
  changed(Path{id()});
  return Ok{};
}

Result<Ok> DataObject::remove_resource_instance(std::uint16_t instance, std::uint16_t resource,
                                                std::uint16_t resource_instance) {
  auto* target = node_.instances.find(instance);
  auto* r = target != nullptr ? target->resources.find(resource) : nullptr;
  if (r == nullptr || !r->instances.erase(resource_instance)) {
    return reject(status::kNotFound, "no such resource instance");
  }
  changed(Path{id(), instance, resource});
  return Ok{};
}

void DataObject::set(const Path& path, lwm2m::Value value) {
  if (path.object_id() != id() || path.depth() < 3) return;
  auto& resource = node_.instances[path.instance_id()].resources[path.resource_id()];
  if (path.is_resource_instance()) {
    resource.multiple = true;
    resource.instances[path.resource_instance_id()] = std::move(value);
  } else {
    resource.multiple = false;
    resource.value = std::move(value);
  }
  changed(path);
}

const lwm2m::Value* DataObject::get(const Path& path) const {
  const auto* instance = node_.instances.find(path.instance_id());
  const auto* r = instance != nullptr && path.depth() >= 3
                      ? instance->resources.find(path.resource_id())
                      : nullptr;
  if (r == nullptr) return nullptr;
  if (path.is_resource_instance()) return r->instances.find(path.resource_instance_id());
  return r->multiple ? nullptr : &r->value;
}

void DataObject::on_execute(std::uint16_t resource, ExecuteHandler handler) {
  executes_.emplace_back(resource, std::move(handler));
}

}  // namespace tether::client
