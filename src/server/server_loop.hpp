#pragma once
// Drives a Lwm2mServer's timers from an EventLoop: one bounded wait, then whatever is due.
#include <algorithm>

#include "server/lwm2m_server.hpp"
#include "transport/event_loop.hpp"

namespace tether::server {

inline void run_step(transport::EventLoop& loop, Lwm2mServer& server, Duration max_wait) {
  Duration wait = max_wait;
  if (auto due = server.next_deadline()) {
    wait =
        std::clamp(std::chrono::duration_cast<Duration>(*due - loop.now()), Duration{0}, max_wait);
  }
  loop.run_once(wait);
  if (auto due = server.next_deadline(); due && *due <= loop.now()) server.on_timer();
}

}  // namespace tether::server
