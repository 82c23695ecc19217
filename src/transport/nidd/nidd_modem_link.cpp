#include "transport/nidd/nidd_modem_link.hpp"

namespace tether::transport {

NiddModemLink::NiddModemLink(EventLoop& loop, std::string device, nidd::NiddModemConfig config)
    : loop_(loop),
      modem_(std::move(config)),
      line_(loop, std::move(device),
            SerialLine::Handlers{[this] {
                                   (void)modem_.take_output();
                                   modem_.start(loop_.now());
                                   pump();
                                 },
                                 [this](ByteView bytes) { modem_.receive(bytes, loop_.now()); },
                                 [this] { pump(); },
                                 [this](const std::string& why) {
                                   if (timer_ != 0) loop_.cancel(timer_);
                                   timer_ = 0;
                                   problem("modem-lost", why);
                                 }}) {}

NiddModemLink::~NiddModemLink() {
  *alive_ = false;
  if (timer_ != 0) loop_.cancel(timer_);
}

std::vector<std::pair<std::string, std::uint64_t>> NiddModemLink::counters() const {
  return {{"nidd_modem_sent", sent_},
          {"nidd_modem_failed", failed_},
          {"nidd_modem_received", received_},
          {"nidd_modem_malformed", malformed_},
          {"nidd_modem_restarts", restarts_}};
}

void NiddModemLink::problem(const std::string& event, const std::string& detail) {
  if (problem_) problem_(event, detail);
}

std::uint64_t NiddModemLink::send(const NiddPacket& packet) {
  auto handle = modem_.send(packet.data, packet.rai, loop_.now());
  if (!handle) {
    ++failed_;
    problem("nidd-uplink-refused", handle.error().reason);
    const std::uint64_t h = refused_handle_++;
    loop_.post([this, alive = alive_, h] {
      if (*alive && reporter_) reporter_(h, Outcome::kFailed);
    });
    return h;
  }
  // Out only: its events come from the loop, never from within send().
  line_.write(modem_.take_output());
  if (timer_ == 0) {
    loop_.post([this, alive = alive_] {
      if (*alive) pump();
    });
  }
  return *handle;
}

void NiddModemLink::pump() {
  const auto alive = alive_;  // a callback may destroy us: the flag outlives this
  line_.write(modem_.take_output());
  while (auto e = modem_.poll_event()) {
    using Kind = nidd::NiddModemEvent::Kind;
    switch (e->kind) {
      case Kind::kReady:
        problem("modem-ready", e->detail);
        break;
      case Kind::kSent:
        ++sent_;
        if (reporter_) reporter_(e->handle, Outcome::kDelivered);
        break;
      case Kind::kFailed:
        ++failed_;
        problem("nidd-uplink-failed", e->detail);
        if (reporter_) reporter_(e->handle, Outcome::kFailed);
        break;
      case Kind::kReceived:
        ++received_;
        if (receiver_) receiver_(std::string{}, std::move(e->payload));
        break;
      case Kind::kMalformed:
        ++malformed_;
        problem("modem-malformed", e->detail);
        break;
      case Kind::kRestarting:
        ++restarts_;
        problem("modem-restarting", e->detail);
        break;
    }
    if (!*alive) return;
    line_.write(modem_.take_output());
  }
  if (timer_ != 0) loop_.cancel(timer_);
  timer_ = 0;
  if (!line_.is_open()) return;
  if (auto next = modem_.next_deadline()) {
    timer_ = loop_.schedule(*next, [this] {
      timer_ = 0;
      modem_.on_timer(loop_.now());
      pump();
    });
  }
}

}  // namespace tether::transport
