#include "transport/lorawan/radio_link.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace tether::transport {

RadioLink::RadioLink(EventLoop& loop, RadioLinkOptions options)
    : loop_(loop), options_(std::move(options)), mac_(options_.mac) {
  auto address = SocketAddress::resolve(options_.host, options_.port);
  if (!address) throw std::runtime_error("lorawan radio: " + address.error().reason);
  simulator_ = *address;
  fd_ = ::socket(simulator_.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0 || ::connect(fd_, simulator_.get(), simulator_.size()) != 0) {
    const std::string why = std::strerror(errno);
    if (fd_ >= 0) ::close(fd_);
    throw std::runtime_error("lorawan radio " + simulator_.to_string() + ": " + why);
  }
  loop_.watch(fd_, EPOLLIN, [this](std::uint32_t) { on_io(); });
}

RadioLink::~RadioLink() {
  *alive_ = false;
  if (timer_ != 0) loop_.cancel(timer_);
  loop_.unwatch(fd_);
  ::close(fd_);
}

std::string RadioLink::describe() const {
  return "radio " + simulator_.to_string() + " DevEUI " +
         lorawan::dev_eui_text(options_.mac.dev_eui) + " " +
         lorawan::region_name(options_.mac.region) + " DR" + std::to_string(options_.mac.dr);
}

std::vector<std::pair<std::string, std::uint64_t>> RadioLink::counters() const {
  const auto& c = mac_.counters();
  return {{"lorawan_uplinks", c.uplinks},
          {"lorawan_uplink_repeats", c.repeats},
          {"lorawan_uplink_empty", c.empty_uplinks},
          {"lorawan_downlinks", c.downlinks},
          {"lorawan_downlink_missed", c.missed_downlinks},
          {"lorawan_downlink_duplicate", c.duplicate_downlinks},
          {"lorawan_duty_cycle_waits", c.duty_cycle_waits},
          {"lorawan_radio_malformed", bad_datagrams_},
          {"lorawan_uplink_refused", refused_}};
}

std::uint64_t RadioLink::send(const LorawanFrame& frame) {
  auto handle = mac_.send(frame.f_port, frame.payload, frame.confirmed, loop_.now());
  if (!handle) {
    ++refused_;
    if (problem_) problem_("lorawan-uplink-refused", handle.error().reason);
    const std::uint64_t h = refused_handle_++;
    loop_.post([this, alive = alive_, h] {
      if (*alive && reporter_) reporter_(h, false);
    });
    return h;
  }
  // What the MAC put on the air goes now; its events come from the loop (pump).
  loop_.post([this, alive = alive_] {
    if (*alive) pump();
  });
  return *handle;
}

void RadioLink::on_io() {
  std::uint8_t buf[lorawan::kMaxAirDatagram + 1];
  for (int i = 0; i < 64; ++i) {
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0) break;
    auto down = lorawan::decode_air_downlink(ByteView(buf, static_cast<std::size_t>(n)));
    if (!down) {
      ++bad_datagrams_;
      continue;
    }
    mac_.receive(*down, loop_.now());
  }
  pump();
}

void RadioLink::send_air() {
  while (auto up = mac_.poll_transmit()) {
    const Bytes datagram = lorawan::encode_air(*up);
    // The simulator may be away (ECONNREFUSED): the frame is lost on the air, as radio is.
    (void)::send(fd_, datagram.data(), datagram.size(), 0);
  }
}

void RadioLink::pump() {
  const auto alive = alive_;  // a callback may destroy us: the flag outlives this
  send_air();
  while (auto e = mac_.poll_event()) {
    if (e->kind == lorawan::MacEvent::Kind::kReceived) {
      if (receiver_) receiver_(LorawanFrame{0, e->port, std::move(e->payload), false});
    } else if (reporter_) {
      reporter_(e->handle, e->kind == lorawan::MacEvent::Kind::kSent);
    }
    if (!*alive) return;
  }
  send_air();  // what the reports queued
  rearm();
}

void RadioLink::rearm() {
  auto next = mac_.next_deadline();
  if (timer_ != 0 && next && armed_at_ == *next) return;
  if (timer_ != 0) loop_.cancel(timer_);
  timer_ = 0;
  if (!next) return;
  armed_at_ = *next;
  timer_ = loop_.schedule(*next, [this] {
    timer_ = 0;
    mac_.on_timer(loop_.now());
    pump();
  });
}

}  // namespace tether::transport
