#include "transport/serial_line.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace tether::transport {

SerialLine::SerialLine(EventLoop& loop, std::string device, Handlers handlers)
    : loop_(loop), device_(std::move(device)), handlers_(std::move(handlers)) {
  if (!open_device()) {
    throw std::runtime_error("cannot open modem " + device_ + ": " + std::strerror(errno));
  }
}

SerialLine::~SerialLine() {
  if (reopen_timer_ != 0) loop_.cancel(reopen_timer_);
  if (fd_ >= 0) {
    loop_.unwatch(fd_);
    ::close(fd_);
  }
}

bool SerialLine::open_device() {
  fd_ = ::open(device_.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd_ < 0) return false;
  termios t{};
  if (::tcgetattr(fd_, &t) == 0) {
    ::cfmakeraw(&t);
    ::cfsetispeed(&t, B115200);
    ::cfsetospeed(&t, B115200);
    t.c_cflag |= CLOCAL | CREAD;
    ::tcsetattr(fd_, TCSANOW, &t);
  }
  try {
    loop_.watch(fd_, EPOLLIN, [this](std::uint32_t events) { on_io(events); });
  } catch (const std::system_error& e) {
    ::close(fd_);
    fd_ = -1;
    errno = e.code().value();
    return false;
  }
  pending_.clear();
  if (handlers_.opened) handlers_.opened();
  return true;
}

// A hung-up device reads as ready for ever: close it rather than spin on it.
void SerialLine::lose(const std::string& why) {
  loop_.unwatch(fd_);
  ::close(fd_);
  fd_ = -1;
  pending_.clear();
  if (handlers_.lost) handlers_.lost(device_ + ": " + why);
  schedule_reopen();
}

void SerialLine::schedule_reopen() {
  reopen_timer_ = loop_.schedule(loop_.now() + kReopenDelay, [this] {
    reopen_timer_ = 0;
    if (!open_device()) schedule_reopen();  // said once, when it was lost
  });
}

void SerialLine::write(ByteView bytes) {
  if (fd_ < 0) return;
  pending_.insert(pending_.end(), bytes.begin(), bytes.end());
  write_pending();
  loop_.modify(fd_, pending_.empty() ? EPOLLIN : (EPOLLIN | EPOLLOUT));
}

void SerialLine::write_pending() {
  while (fd_ >= 0 && !pending_.empty()) {
    const ssize_t n = ::write(fd_, pending_.data(), pending_.size());
    if (n <= 0) break;
    pending_.erase(pending_.begin(), pending_.begin() + n);
  }
}

void SerialLine::on_io(std::uint32_t events) {
  if (fd_ < 0) return;
  if ((events & EPOLLIN) != 0) {
    std::uint8_t buf[4096];
    // Bounded: a chattering device cannot hold the loop.
    for (int i = 0; i < 16; ++i) {
      const ssize_t n = ::read(fd_, buf, sizeof(buf));
      if (n > 0) {
        if (handlers_.read) handlers_.read(ByteView(buf, static_cast<std::size_t>(n)));
        if (fd_ < 0) return;
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        lose(n == 0 ? "end of file" : std::strerror(errno));
        return;
      }
      break;
    }
  } else if ((events & (EPOLLHUP | EPOLLERR)) != 0) {
    lose("hung up");
    return;
  }
  if ((events & EPOLLOUT) != 0) {
    write_pending();
    if (fd_ >= 0 && pending_.empty()) loop_.modify(fd_, EPOLLIN);
  }
  if (handlers_.read_done) handlers_.read_done();
}

}  // namespace tether::transport
