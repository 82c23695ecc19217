#pragma once
// The plug point for a device maker's objects (libtether). An Object holds the instances of
// one LwM2M object; the client's DataModel checks paths, operations, formats and access
// rights against the object definition before it calls these, so an implementation only
// stores and acts. Errors carry the response code to answer (lwm2m::reject).
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "lwm2m/path.hpp"
#include "lwm2m/tree.hpp"

namespace tether::client {

enum class WriteMode : std::uint8_t {
  kUpdate,            // Partial Update: given resources set, resource instances merged
  kReplaceResources,  // Replace at a resource: each given resource replaced whole
  kReplaceInstance,   // Replace at an instance: writable resources not given are removed
};

class Object {
 public:
  explicit Object(std::uint16_t id) : id_(id) {}
  virtual ~Object() = default;
  Object(const Object&) = delete;
  Object& operator=(const Object&) = delete;

  std::uint16_t id() const { return id_; }

  virtual std::vector<std::uint16_t> instances() const = 0;
  // The resources an instance holds now.
  virtual Result<lwm2m::InstanceNode> read(std::uint16_t instance) const = 0;
  // `writable` tells which resources kReplaceInstance may remove.
  virtual Result<Ok> write(std::uint16_t instance, const lwm2m::InstanceNode& values,
                           WriteMode mode, const std::function<bool(std::uint16_t)>& writable) = 0;
  virtual Result<Ok> execute(std::uint16_t instance, std::uint16_t resource,
                             std::string_view arguments);
  // The executable resources an instance implements beyond the definition's mandatory ones
  // (Discover lists both: Core TS 5.4.2 asks for every instantiated resource).
  virtual std::vector<std::uint16_t> executables(std::uint16_t instance) const;
  virtual Result<Ok> create(std::uint16_t instance, const lwm2m::InstanceNode& values);
  virtual Result<Ok> remove(std::uint16_t instance);
  // Removes one resource instance (Delete is not an LwM2M operation on resources; the
  // bootstrap interface and the client itself use this for ACL entries).
  virtual Result<Ok> remove_resource_instance(std::uint16_t instance, std::uint16_t resource,
                                              std::uint16_t resource_instance);

  // The client listens here: a value under `path` changed (observations, Update triggers).
  void set_change_listener(std::function<void(const lwm2m::Path&)> listener) {
    listener_ = std::move(listener);
  }

 protected:
  // Call when a value moves on its own (a sensor reading) or an instance comes or goes.
  void changed(const lwm2m::Path& path) const {
    if (listener_) listener_(path);
  }

 private:
  std::uint16_t id_;
  std::function<void(const lwm2m::Path&)> listener_;
};

// An object whose instances are plain data, with optional hooks: the usual way to add an
// object. Values set through set() notify observers.
class DataObject : public Object {
 public:
  using ExecuteHandler = std::function<Result<Ok>(std::uint16_t instance, std::string_view args)>;
  using WriteHook = std::function<void(const lwm2m::Path& path)>;

  explicit DataObject(std::uint16_t id, bool allow_create = true)
      : Object(id), allow_create_(allow_create) {}

  std::vector<std::uint16_t> instances() const override;
  Result<lwm2m::InstanceNode> read(std::uint16_t instance) const override;
  Result<Ok> write(std::uint16_t instance, const lwm2m::InstanceNode& values, WriteMode mode,
                   const std::function<bool(std::uint16_t)>& writable) override;
  Result<Ok> execute(std::uint16_t instance, std::uint16_t resource,
                     std::string_view arguments) override;
  std::vector<std::uint16_t> executables(std::uint16_t instance) const override;
  Result<Ok> create(std::uint16_t instance, const lwm2m::InstanceNode& values) override;
  Result<Ok> remove(std::uint16_t instance) override;
  Result<Ok> remove_resource_instance(std::uint16_t instance, std::uint16_t resource,
                                      std::uint16_t resource_instance) override;

  // Local access for the device's own code.
  void set(const lwm2m::Path& path, lwm2m::Value value);
  const lwm2m::Value* get(const lwm2m::Path& path) const;
  void on_execute(std::uint16_t resource, ExecuteHandler handler);
  // Runs after a server (or the bootstrap server) wrote under this object.
  void on_write(WriteHook hook) { on_write_ = std::move(hook); }
  const lwm2m::ObjectNode& node() const { return node_; }

 protected:
  lwm2m::ObjectNode node_;

 private:
  bool allow_create_;
  std::vector<std::pair<std::uint16_t, ExecuteHandler>> executes_;
  WriteHook on_write_;
};

}  // namespace tether::client
