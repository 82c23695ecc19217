#include "client/objects/account_objects.hpp"

namespace tether::client {

DeviceObject& add_standard_objects(DataModel& data, const DeviceInfo& info, const Clock& clock) {
  for (std::uint16_t id : {oid::kSecurity, oid::kServer, oid::kAccessControl, oid::kOscore}) {
    (void)data.add(std::make_unique<DataObject>(id));
  }
  auto device = std::make_unique<DeviceObject>(info, clock);
  DeviceObject& ref = *device;
  (void)data.add(std::move(device));
  return ref;
}

}  // namespace tether::client
