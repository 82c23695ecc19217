#pragma once
// Protocol cores never read a clock: callers pass the current Instant in. Tests drive a
// virtual clock; the event loop passes steady_clock readings.
#include <chrono>

namespace tether {

using Duration = std::chrono::milliseconds;
using Instant = std::chrono::time_point<std::chrono::steady_clock, Duration>;

inline Instant instant_at(Duration since_epoch) {
  return Instant{since_epoch};
}
inline Instant steady_now() {
  return std::chrono::time_point_cast<Duration>(std::chrono::steady_clock::now());
}

}  // namespace tether
