#pragma once
// Runs a real event loop until a condition holds, bounded in time (loopback peers answer in
// milliseconds; the bound only ends a test that would otherwise hang).
#include "transport/event_loop.hpp"

namespace tether::testing {

template <typename Done>
bool run_until(transport::EventLoop& loop, Done done, Duration limit = Duration{10'000}) {
  const Instant until = loop.now() + limit;
  while (!done() && loop.now() < until) loop.run_once(Duration{20});
  return done();
}

}  // namespace tether::testing
