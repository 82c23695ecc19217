#pragma once
// Device (object 3, Core TS Appendix E.4) with values from the host: manufacturer and model
// as configured, firmware version, current time from the clock, free memory, the supported
// bindings, error codes, and Reboot / Factory Reset / Reset Error Code handed to the device.
#include <functional>
#include <string>

#include "client/object.hpp"
#include "common/clock.hpp"

namespace tether::client {

struct DeviceInfo {
  std::string manufacturer = "Tether";
  std::string model = "tether-client";
  std::string serial;
  std::string firmware_version = "0.1.0";
  std::string bindings = "UT";  // /3/0/16: what this build can carry
};

class DeviceObject final : public DataObject {
 public:
  DeviceObject(const DeviceInfo& info, const Clock& clock);
  // Reboot (/3/0/4) and Factory Reset (/3/0/5) run these after the 2.04 went out.
  void on_reboot(std::function<void()> f) { reboot_ = std::move(f); }
  void on_factory_reset(std::function<void()> f) { factory_reset_ = std::move(f); }
  // Error codes (/3/0/11): 0 means none; setting one replaces a lone 0.
  void add_error(std::int64_t code);

  Result<lwm2m::InstanceNode> read(std::uint16_t instance) const override;

 private:
  const Clock& clock_;
  std::int64_t offset_ms_ = 0;  // written Current Time minus the system clock
  std::function<void()> reboot_;
  std::function<void()> factory_reset_;
};

}  // namespace tether::client
