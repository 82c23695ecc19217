#include "client/objects/device_object.hpp"

#include <fstream>
#include <sstream>

namespace tether::client {

namespace {
using lwm2m::Path;
using lwm2m::Value;

// Free memory in KiB (/3/0/10) from /proc/meminfo; nothing where there is none.
std::optional<std::int64_t> free_memory_kib() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  std::int64_t value = 0;
  std::string unit;
  while (in >> key >> value >> unit) {
    if (key == "MemAvailable:") return value;
  }
  return std::nullopt;
}
}  // namespace

DeviceObject::DeviceObject(const DeviceInfo& info, const Clock& clock)
    : DataObject(3, false), clock_(clock) {
  set(Path{3, 0, 0}, Value(info.manufacturer));
  set(Path{3, 0, 1}, Value(info.model));
  set(Path{3, 0, 2}, Value(info.serial));
  set(Path{3, 0, 3}, Value(info.firmware_version));
  set(Path{3, 0, 11, 0}, Value(std::int64_t{0}));
  set(Path{3, 0, 14}, Value("+00:00"));
  set(Path{3, 0, 15}, Value("Etc/UTC"));
  set(Path{3, 0, 16}, Value(info.bindings));
  // Core TS E.3: a written Current Time sets the device's clock, kept as an offset from the
  // system clock (the written value is not kept: reads give the running time).
  on_write([this](const Path&) {
    auto* instance = node_.instances.find(0);
    auto* time = instance != nullptr ? instance->resources.find(13) : nullptr;
    if (time == nullptr) return;
    // A server's value: anything beyond ±2^40 s (35,000 years) is no time, and taking it
    // would overflow the milliseconds.
    constexpr double kLimit = 1099511627776.0;
    if (auto seconds = time->value.as_number();
        seconds && *seconds > -kLimit && *seconds < kLimit) {
      offset_ms_ = static_cast<std::int64_t>(*seconds) * 1000 - clock_.unix_now();
    }
    instance->resources.erase(13);
  });
  on_execute(4, [this](std::uint16_t, std::string_view) -> Result<Ok> {
    if (reboot_) reboot_();
    return Ok{};
  });
  on_execute(5, [this](std::uint16_t, std::string_view) -> Result<Ok> {
    if (factory_reset_) factory_reset_();
    return Ok{};
  });
  on_execute(12, [this](std::uint16_t, std::string_view) -> Result<Ok> {
    if (auto* instance = node_.instances.find(0)) {
      if (auto* errors = instance->resources.find(11)) errors->instances.clear();
    }
    set(Path{3, 0, 11, 0}, Value(std::int64_t{0}));
    return Ok{};
  });
}

void DeviceObject::add_error(std::int64_t code) {
  std::size_t count = 0;
  bool only_none = false;
  {
    const auto* instance = node_.instances.find(0);
    const auto* r = instance != nullptr ? instance->resources.find(11) : nullptr;
    if (r != nullptr) {
      count = r->instances.size();
      const auto* first = r->instances.find(0);
      only_none = count == 1 && first != nullptr && *first == Value(std::int64_t{0});
    }
  }
  if (only_none) {
    (void)remove_resource_instance(0, 11, 0);
    count = 0;
  }
  set(Path{3, 0, 11, static_cast<std::uint16_t>(count)}, Value(code));
}

Result<lwm2m::InstanceNode> DeviceObject::read(std::uint16_t instance) const {
  auto node = DataObject::read(instance);
  if (!node) return node;
  node->resources[13].value = Value(lwm2m::Time{(clock_.unix_now() + offset_ms_) / 1000});
  if (auto kib = free_memory_kib()) node->resources[10].value = Value(*kib);
  return node;
}

}  // namespace tether::client
