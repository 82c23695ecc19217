#include "closed_loop.hpp"

#include <algorithm>
#include <cstdio>

#include "resident_memory.hpp"

namespace tether::app {

bool parse_load_option(ArgReader& r, LoadOptions& o) {
  if (r.is("--clients")) {
    o.clients = parse_number(r.value(), 1'000'000);
  } else if (r.is("--window")) {
    o.window = parse_number(r.value(), 100'000);
  } else if (r.is("--seconds")) {
    o.seconds = parse_number(r.value(), 3600);
  } else if (r.is("--pid")) {
    o.pid = static_cast<int>(parse_number(r.value(), 1 << 22));
  } else if (r.is("--bare")) {
    o.bare = true;
  } else {
    return false;
  }
  return true;
}

ClosedLoop::ClosedLoop(transport::EventLoop& loop, std::uint64_t clients, std::uint64_t window,
                       std::function<void(std::uint64_t)> send)
    : loop_(loop),
      clients_(clients),
      window_(std::max<std::uint64_t>(1, std::min(window, clients))),
      send_(std::move(send)),
      sent_at_(clients),
      busy_(clients, false) {}

void ClosedLoop::start(std::uint64_t i) {
  busy_[i] = true;
  if (phase_ != nullptr) ++phase_->sent;
  sent_at_[i] = SteadyClock::now();
  send_(i);
}

void ClosedLoop::finish(std::uint64_t i, bool ok) {
  if (i >= clients_ || !busy_[i] || phase_ == nullptr) return;
  busy_[i] = false;
  const double ms =
      std::chrono::duration<double, std::milli>(SteadyClock::now() - sent_at_[i]).count();
  ++(ok ? phase_->done : phase_->failed);
  phase_->latency_ms.push_back(ms);
  idle_.push_back(i);
  if (running_ && !idle_.empty() && phase_->sent < phase_->limit) {
    const std::uint64_t next = idle_.front();
    idle_.pop_front();
    start(next);
  }
}

LoadPhase ClosedLoop::run(std::uint64_t total, std::chrono::seconds duration) {
  LoadPhase p;
  phase_ = &p;
  p.limit = total;
  idle_.clear();
  for (std::uint64_t i = 0; i < clients_; ++i) idle_.push_back(i);
  running_ = true;
  const auto t0 = SteadyClock::now();
  const auto stop_at = t0 + duration;
  for (std::uint64_t k = 0; k < window_ && !idle_.empty(); ++k) {
    const std::uint64_t i = idle_.front();
    idle_.pop_front();
    start(i);
  }
  while (SteadyClock::now() < stop_at && p.done + p.failed < total) {
    loop_.run_once(Duration{50});
  }
  running_ = false;
  p.seconds = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  // Drain what is in flight (bounded).
  const auto drain = SteadyClock::now() + std::chrono::seconds(5);
  while (std::any_of(busy_.begin(), busy_.end(), [](bool b) { return b; }) &&
         SteadyClock::now() < drain) {
    loop_.run_once(Duration{50});
  }
  phase_ = nullptr;
  return p;
}

void print_registration(const LoadPhase& p, int pid, long rss_before_kib) {
  std::printf("registered=%llu failed=%llu seconds=%.2f rate=%.0f/s\n",
              static_cast<unsigned long long>(p.done), static_cast<unsigned long long>(p.failed),
              p.seconds, static_cast<double>(p.done) / p.seconds);
  if (pid == 0) return;
  const long rss_after = rss_kib(pid);
  std::printf("server_rss_kib before=%ld after=%ld per_registration_bytes=%.0f\n", rss_before_kib,
              rss_after,
              p.done > 0 ? static_cast<double>(rss_after - rss_before_kib) * 1024.0 /
                               static_cast<double>(p.done)
                         : 0.0);
}

void print_rate(const char* what, std::uint64_t clients, std::uint64_t window, LoadPhase& p) {
  auto& lat = p.latency_ms;
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double q) {
    return lat.empty() ? 0.0
                       : lat[static_cast<std::size_t>(q * static_cast<double>(lat.size() - 1))];
  };
  std::printf(
      "%s clients=%llu window=%llu done=%llu failed=%llu seconds=%.2f rate=%.0f/s "
      "p50_ms=%.2f p99_ms=%.2f\n",
      what, static_cast<unsigned long long>(clients), static_cast<unsigned long long>(window),
      static_cast<unsigned long long>(p.done), static_cast<unsigned long long>(p.failed), p.seconds,
      static_cast<double>(p.done) / p.seconds, pct(0.5), pct(0.99));
  std::fflush(stdout);
}

}  // namespace tether::app
