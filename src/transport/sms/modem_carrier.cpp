#include "transport/sms/modem_carrier.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace tether::transport {

ModemCarrier::ModemCarrier(EventLoop& loop, ModemOptions options)
    : loop_(loop), options_(std::move(options)), modem_(options_.modem) {
  if (!open_device()) {
    throw std::runtime_error("cannot open modem " + options_.device + ": " + std::strerror(errno));
  }
}

ModemCarrier::~ModemCarrier() {
  if (timer_ != 0) loop_.cancel(timer_);
  if (reopen_timer_ != 0) loop_.cancel(reopen_timer_);
  if (fd_ >= 0) {
    loop_.unwatch(fd_);
    ::close(fd_);
  }
}

bool ModemCarrier::open_device() {
  fd_ = ::open(options_.device.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
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
  (void)modem_.take_output();  // what was meant for the device we lost
  pending_.clear();
  modem_.start(loop_.now());
  pump(true);
  return true;
}

// A hung-up device reads as ready for ever: close it rather than spin on it. The modem's own
// timer stops too, so what waits to be sent is not failed one by one while nobody listens;
// the start-up dialogue after the reopen picks the queue up again.
void ModemCarrier::lose_device(const std::string& why) {
  loop_.unwatch(fd_);
  ::close(fd_);
  fd_ = -1;
  pending_.clear();
  if (timer_ != 0) loop_.cancel(timer_);
  timer_ = 0;
  report("modem-lost", options_.device + ": " + why);
  schedule_reopen();
}

void ModemCarrier::schedule_reopen() {
  reopen_timer_ = loop_.schedule(loop_.now() + kReopenDelay, [this] {
    reopen_timer_ = 0;
    if (!open_device()) schedule_reopen();  // said once, when it was lost
  });
}

void ModemCarrier::send(const sms::ShortMessage& m) {
  if (auto ok = modem_.send(m, loop_.now()); !ok) {
    ++counters_.send_failures;
    report("sms-send-failed", ok.error().reason);
  }
  // Only out: a send may come from inside the receiver (an answer), which must not be
  // handed the next message before it returns.
  pump(false);
}

void ModemCarrier::on_io(std::uint32_t events) {
  if (fd_ < 0) return;
  if ((events & EPOLLIN) != 0) {
    std::uint8_t buf[4096];
    // Bounded: a chattering device cannot hold the loop.
    for (int i = 0; i < 16; ++i) {
      const ssize_t n = ::read(fd_, buf, sizeof(buf));
      if (n > 0) {
        modem_.receive(ByteView(buf, static_cast<std::size_t>(n)), loop_.now());
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        lose_device(n == 0 ? "end of file" : std::strerror(errno));
        return;
      }
      break;
    }
  } else if ((events & (EPOLLHUP | EPOLLERR)) != 0) {
    lose_device("hung up");
    return;
  }
  if ((events & EPOLLOUT) != 0) write_pending();
  pump(true);
}

void ModemCarrier::write_pending() {
  while (fd_ >= 0 && !pending_.empty()) {
    const ssize_t n = ::write(fd_, pending_.data(), pending_.size());
    if (n <= 0) break;
    pending_.erase(pending_.begin(), pending_.begin() + n);
  }
}

void ModemCarrier::report(const std::string& event, const std::string& detail) {
  if (reporter_) reporter_(event, detail);
}

// Moves what the modem produced: bytes to the device, events to the log and, with
// `deliver`, received messages up.
void ModemCarrier::pump(bool deliver) {
  Bytes out = modem_.take_output();
  if (fd_ >= 0) {
    pending_.insert(pending_.end(), out.begin(), out.end());
    write_pending();
    loop_.modify(fd_, pending_.empty() ? EPOLLIN : (EPOLLIN | EPOLLOUT));
  }
  while (auto e = modem_.poll_event()) {
    using Kind = sms::AtModemEvent::Kind;
    switch (e->kind) {
      case Kind::kReady:
        report("modem-ready", options_.device);
        break;
      case Kind::kSent:
        ++counters_.sent;
        break;
      case Kind::kSendFailed:
        ++counters_.send_failures;
        report("sms-send-failed", e->detail);
        break;
      case Kind::kMalformed:
        ++counters_.malformed;
        report("sms-malformed", e->detail);
        break;
      case Kind::kRestarting:
        report("modem-restarting", e->detail);
        break;
    }
  }
  while (deliver) {
    auto m = modem_.poll_received();
    if (!m) break;
    ++counters_.received;
    if (receiver_) receiver_(std::move(*m));
  }
  if (timer_ != 0) loop_.cancel(timer_);
  timer_ = 0;
  if (fd_ < 0) return;  // no device: the modem's dialogue waits for the reopen
  if (auto next = modem_.next_deadline()) {
    timer_ = loop_.schedule(*next, [this] {
      timer_ = 0;
      modem_.on_timer(loop_.now());
      pump(true);
    });
  }
}

}  // namespace tether::transport
