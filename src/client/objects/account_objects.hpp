#pragma once
// The objects every client has: Security (0), Server (1), Access Control (2) and OSCORE (21)
// as plain data (they are written by the Bootstrap-Server and read by the client itself),
// plus Device (3). A device maker adds its own objects next to these.
#include <memory>

#include "client/data_model.hpp"
#include "client/objects/device_object.hpp"

namespace tether::client {

// Adds objects 0, 1, 2 and 21 (empty) and the Device object; returns the Device object.
DeviceObject& add_standard_objects(DataModel& data, const DeviceInfo& info, const Clock& clock);

}  // namespace tether::client
