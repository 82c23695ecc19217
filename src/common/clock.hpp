#pragma once
// Servers and clients read time through this, so tests run them on a virtual clock: a
// steady Instant for protocol timers and Unix milliseconds for what is stored and shown.
#include <chrono>
#include <cstdint>

#include "common/time.hpp"

namespace tether {

using UnixMillis = std::int64_t;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Instant now() const = 0;
  virtual UnixMillis unix_now() const = 0;
};

class SystemClock final : public Clock {
 public:
  Instant now() const override { return steady_now(); }
  UnixMillis unix_now() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace tether
