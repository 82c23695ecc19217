#pragma once
// A clock tests set by hand (Instant and Unix time move together).
#include "common/clock.hpp"

namespace tether::testing {

class ManualClock final : public Clock {
 public:
  Instant now() const override { return at; }
  UnixMillis unix_now() const override {
    return 1'790'000'000'000 + std::chrono::duration_cast<Duration>(at - Instant{}).count();
  }
  Instant at{};
};

}  // namespace tether::testing
