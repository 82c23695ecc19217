#include "client/objects/temperature_object.hpp"

#include <algorithm>
#include <cmath>

namespace tether::client {

namespace {
using lwm2m::Path;
using lwm2m::Value;
constexpr std::uint16_t kSensorValue = 5700, kUnits = 5701, kMin = 5601, kMax = 5602,
                        kResetMinMax = 5605;
}  // namespace

TemperatureObject::TemperatureObject(double start)
    : DataObject(3303, false), value_(start), min_(start), max_(start) {
  set(Path{3303, 0, kUnits}, Value("Cel"));
  record(start);
  on_execute(kResetMinMax, [this](std::uint16_t, std::string_view) -> Result<Ok> {
    min_ = max_ = value_;
    record(value_);
    return Ok{};
  });
}

void TemperatureObject::tick(double delta) {
  value_ = std::round((value_ + delta) * 100) / 100;
  min_ = std::min(min_, value_);
  max_ = std::max(max_, value_);
  record(value_);
}

void TemperatureObject::record(double v) {
  set(Path{3303, 0, kMin}, Value(min_));
  set(Path{3303, 0, kMax}, Value(max_));
  set(Path{3303, 0, kSensorValue}, Value(v));
}

}  // namespace tether::client
