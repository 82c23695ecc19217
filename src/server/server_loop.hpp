#pragma once
// Drives a sans-I/O engine's timers (the LwM2M server, the bootstrap server: anything with
// next_deadline() and on_timer()) from an EventLoop: one bounded wait, then whatever is due.
#include <algorithm>

#include "transport/event_loop.hpp"

namespace tether::server {

template <typename Engine>
void run_step(transport::EventLoop& loop, Engine& engine, Duration max_wait) {
  Duration wait = max_wait;
  if (auto due = engine.next_deadline()) {
    wait =
        std::clamp(std::chrono::duration_cast<Duration>(*due - loop.now()), Duration{0}, max_wait);
  }
  loop.run_once(wait);
  loop.guard("engine timer", [&engine, &loop] {
    if (auto due = engine.next_deadline(); due && *due <= loop.now()) engine.on_timer();
  });
}

}  // namespace tether::server
