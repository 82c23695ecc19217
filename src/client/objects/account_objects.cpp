#include "client/objects/account_objects.hpp"

namespace tether::client {

DeviceObject& add_standard_objects(DataModel& data, const DeviceInfo& info, const Clock& clock) {
  for (std::uint16_t id : {oid::kSecurity, oid::kAccessControl, oid::kOscore}) {
    (void)data.add(std::make_unique<DataObject>(id));
  }
  // Disable and Bootstrap-Request Trigger: the client acts on them once the data model has
  // accepted the Execute (Lwm2mClient), so the object only declares them.
  auto server = std::make_unique<DataObject>(oid::kServer);
  for (std::uint16_t rid : {server_res::kDisable, server_res::kBootstrapTrigger}) {
    server->on_execute(rid, [](std::uint16_t, std::string_view) -> Result<Ok> { return Ok{}; });
  }
  (void)data.add(std::move(server));
  auto device = std::make_unique<DeviceObject>(info, clock);
  DeviceObject& ref = *device;
  (void)data.add(std::move(device));
  return ref;
}

}  // namespace tether::client
