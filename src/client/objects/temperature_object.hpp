#pragma once
// A simulated Temperature sensor (IPSO 3303): the value drifts on each tick so that
// observations have something to report; min/max measured and their reset follow it.
#include "client/object.hpp"

namespace tether::client {

class TemperatureObject final : public DataObject {
 public:
  explicit TemperatureObject(double start = 21.5);
  // Moves the reading by `delta` degrees Celsius.
  void tick(double delta);
  double value() const { return value_; }

 private:
  void record(double v);
  double value_;
  double min_;
  double max_;
};

}  // namespace tether::client
