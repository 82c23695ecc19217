#pragma once
// The edge of the system: one epoll instance per thread. Protocol cores never see it; the
// transports read sockets here, feed the core, and write out what it produced. epoll is
// used directly (not Asio) because the loop is this thin: readiness callbacks and one
// deadline queue, with no need for Asio's executors, and it keeps SO_REUSEPORT sharding
// across threads (one loop per core) straightforward.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/time.hpp"

namespace tether::transport {

class EventLoop {
 public:
  using IoCallback = std::function<void(std::uint32_t events)>;
  using TimerId = std::uint64_t;

  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  void watch(int fd, std::uint32_t events, IoCallback cb);
  void modify(int fd, std::uint32_t events);
  void unwatch(int fd);

  TimerId schedule(Instant at, std::function<void()> cb);
  // The one thread-safe call: runs `task` on the loop's thread soon (used by the HTTP API's
  // worker threads to hand requests to the protocol cores, which are single-threaded).
  void post(std::function<void()> task);
  void cancel(TimerId id);

  // Every callback runs inside guard(): an exception that escapes one is reported here and
  // counted, and the loop goes on serving (the default reporter writes a line to stderr).
  void set_error_handler(std::function<void(const std::string& what)> handler) {
    on_error_ = std::move(handler);
  }
  std::uint64_t errors() const { return errors_; }
  // Runs `f`, catching what it throws (see set_error_handler); `where` names it in the report.
  void guard(const char* where, const std::function<void()>& f);

  // Runs until stop() or until `until` passes (if given).
  void run(std::optional<Instant> until = std::nullopt);
  // One wait of at most `max_wait`, then due callbacks.
  void run_once(Duration max_wait);
  void stop() { stopped_ = true; }
  bool stopped() const { return stopped_; }
  Instant now() const { return steady_now(); }

 private:
  void fire_timers();
  void run_posted();
  void report(const char* where, const std::string& what);

  int epoll_fd_ = -1;
  bool stopped_ = false;
  // Per fd: its callback, and the generation it was watched under. epoll reports carry
  // both, so an event queued for a closed fd is not delivered to a new socket that reuses
  // the number within the same wait.
  struct Watch {
    std::uint32_t generation = 0;
    std::shared_ptr<IoCallback> callback;
  };
  std::unordered_map<int, Watch> io_;
  std::uint32_t next_generation_ = 1;
  std::multimap<Instant, std::pair<TimerId, std::function<void()>>> timers_;
  std::unordered_map<TimerId,
                     std::multimap<Instant, std::pair<TimerId, std::function<void()>>>::iterator>
      timer_index_;
  TimerId next_timer_ = 1;
  int wake_fd_ = -1;  // eventfd that post() signals
  std::mutex posted_mutex_;
  std::vector<std::function<void()>> posted_;
  std::function<void(const std::string&)> on_error_;
  std::uint64_t errors_ = 0;
};

}  // namespace tether::transport
