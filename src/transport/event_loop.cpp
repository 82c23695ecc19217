#include "transport/event_loop.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace tether::transport {

EventLoop::EventLoop() : epoll_fd_(epoll_create1(EPOLL_CLOEXEC)) {
  if (epoll_fd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  watch(wake_fd_, EPOLLIN, [this](std::uint32_t) { run_posted(); });
}

EventLoop::~EventLoop() {
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

void EventLoop::post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(posted_mutex_);
    posted_.push_back(std::move(task));
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof(one));
}

void EventLoop::run_posted() {
  std::uint64_t count = 0;
  [[maybe_unused]] const auto n = ::read(wake_fd_, &count, sizeof(count));
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard<std::mutex> lock(posted_mutex_);
    tasks.swap(posted_);
  }
  for (auto& task : tasks) guard("posted task", task);
}

void EventLoop::guard(const char* where, const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    report(where, e.what());
  } catch (...) {
    report(where, "an exception that is not a std::exception");
  }
}

void EventLoop::report(const char* where, const std::string& what) {
  ++errors_;
  const std::string text = std::string(where) + ": " + what;
  if (on_error_) {
    try {
      on_error_(text);
      return;
    } catch (...) {
    }
  }
  std::fprintf(stderr, "level=error event=loop-error where=\"%s\"\n", where);
}

namespace {
std::uint64_t tag(int fd, std::uint32_t generation) {
  return (std::uint64_t{generation} << 32) | static_cast<std::uint32_t>(fd);
}
}  // namespace

void EventLoop::watch(int fd, std::uint32_t events, IoCallback cb) {
  const std::uint32_t generation = next_generation_++;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = tag(fd, generation);
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    throw std::system_error(errno, std::generic_category(), "epoll_ctl add");
  }
  io_[fd] = Watch{generation, std::make_shared<IoCallback>(std::move(cb))};
}

void EventLoop::modify(int fd, std::uint32_t events) {
  auto it = io_.find(fd);
  if (it == io_.end()) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = tag(fd, it->second.generation);
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev);
}

void EventLoop::unwatch(int fd) {
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  io_.erase(fd);
}

EventLoop::TimerId EventLoop::schedule(Instant at, std::function<void()> cb) {
  const TimerId id = next_timer_++;
  timer_index_[id] = timers_.emplace(at, std::make_pair(id, std::move(cb)));
  return id;
}

void EventLoop::cancel(TimerId id) {
  auto it = timer_index_.find(id);
  if (it == timer_index_.end()) return;
  timers_.erase(it->second);
  timer_index_.erase(it);
}

void EventLoop::fire_timers() {
  const Instant now = steady_now();
  while (!timers_.empty() && timers_.begin()->first <= now) {
    auto node = timers_.extract(timers_.begin());
    timer_index_.erase(node.mapped().first);
    guard("timer", node.mapped().second);
  }
}

void EventLoop::run_once(Duration max_wait) {
  Duration wait = max_wait;
  if (!timers_.empty()) {
    wait = std::min(wait, std::max(Duration{0}, timers_.begin()->first - steady_now()));
  }
  epoll_event events[64];
  const int n = epoll_wait(epoll_fd_, events, 64, static_cast<int>(wait.count()));
  if (n < 0 && errno != EINTR)
    throw std::system_error(errno, std::generic_category(), "epoll_wait");
  for (int i = 0; i < n; ++i) {
    const int fd = static_cast<int>(events[i].data.u64 & 0xffffffffU);
    const auto generation = static_cast<std::uint32_t>(events[i].data.u64 >> 32);
    auto it = io_.find(fd);
    if (it == io_.end() || it->second.generation != generation) continue;  // a stale event
    auto cb = it->second.callback;  // the callback may unwatch its own fd
    const std::uint32_t ready = events[i].events;
    guard("I/O callback", [&cb, ready] { (*cb)(ready); });
  }
  fire_timers();
}

void EventLoop::run(std::optional<Instant> until) {
  stopped_ = false;
  while (!stopped_) {
    Duration wait{1000};
    if (until) {
      const Instant now = steady_now();
      if (now >= *until) break;
      wait = std::min(wait, *until - now);
    }
    run_once(wait);
  }
}

}  // namespace tether::transport
