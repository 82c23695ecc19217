#pragma once
// The server's clock is the shared one (common/clock.hpp).
#include "common/clock.hpp"
#include "server/registration.hpp"

namespace tether::server {
using tether::Clock;
using tether::SystemClock;
}  // namespace tether::server
