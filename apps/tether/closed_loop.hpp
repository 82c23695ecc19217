#pragma once
// The load generators' closed loop (tether bench mqtt, tether bench http): N simulated
// clients, W requests in flight, each client sending again as soon as its answer came;
// latencies per request, and the lines the bench scripts read.
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <vector>

#include "cli_options.hpp"
#include "transport/event_loop.hpp"

namespace tether::app {

using SteadyClock = std::chrono::steady_clock;

// The options every load generator takes.
struct LoadOptions {
  std::uint64_t clients = 100;  // --clients N
  std::uint64_t window = 32;    // --window W: requests in flight
  std::uint64_t seconds = 10;   // --seconds S of Updates
  int pid = 0;                  // --pid P: the measured process
  bool bare = false;            // --bare: against the baseline echo
};
// Takes the reader's current option when it is one of LoadOptions'; false otherwise.
bool parse_load_option(ArgReader& r, LoadOptions& o);

// What one phase (registering, or updating) counted.
struct LoadPhase {
  std::uint64_t limit = 0;  // requests to send in all
  std::uint64_t sent = 0;
  std::uint64_t done = 0;
  std::uint64_t failed = 0;
  std::vector<double> latency_ms;
  double seconds = 0;
};

class ClosedLoop {
 public:
  // `send(i)` sends client i's next request; its answer must come back through finish(i).
  ClosedLoop(transport::EventLoop& loop, std::uint64_t clients, std::uint64_t window,
             std::function<void(std::uint64_t)> send);

  void finish(std::uint64_t i, bool ok);
  // Sends until `total` requests were answered or `duration` passed; then waits (at most
  // 5 s) for those in flight.
  LoadPhase run(std::uint64_t total, std::chrono::seconds duration);

 private:
  void start(std::uint64_t i);

  transport::EventLoop& loop_;
  std::uint64_t clients_;
  std::uint64_t window_;
  std::function<void(std::uint64_t)> send_;
  std::vector<SteadyClock::time_point> sent_at_;
  std::vector<bool> busy_;
  std::deque<std::uint64_t> idle_;
  LoadPhase* phase_ = nullptr;
  bool running_ = false;
};

// "registered=N failed=F seconds=S rate=R/s", and with a pid the server's memory per
// registration since `rss_before_kib`.
void print_registration(const LoadPhase& p, int pid, long rss_before_kib);
// "<what> clients=N window=W done=D failed=F seconds=S rate=R/s p50_ms=… p99_ms=…".
void print_rate(const char* what, std::uint64_t clients, std::uint64_t window, LoadPhase& p);

}  // namespace tether::app
