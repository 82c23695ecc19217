#include "transport/lorawan/modem_link.hpp"

namespace tether::transport {

ModemLink::ModemLink(EventLoop& loop, std::string device, lorawan::AtModemConfig config)
    : loop_(loop),
      modem_(config),
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

ModemLink::~ModemLink() {
  *alive_ = false;
  if (timer_ != 0) loop_.cancel(timer_);
}

std::optional<lorawan::DevEui> ModemLink::own_dev_eui() const {
  if (!modem_.ready()) return std::nullopt;
  return modem_.dev_eui();
}

std::vector<std::pair<std::string, std::uint64_t>> ModemLink::counters() const {
  return {{"lorawan_modem_sent", sent_},
          {"lorawan_modem_failed", failed_},
          {"lorawan_modem_received", received_},
          {"lorawan_modem_malformed", malformed_},
          {"lorawan_modem_restarts", restarts_}};
}

void ModemLink::problem(const std::string& event, const std::string& detail) {
  if (problem_) problem_(event, detail);
}

std::uint64_t ModemLink::send(const LorawanFrame& frame) {
  auto handle = modem_.send(frame.f_port, frame.payload, frame.confirmed, loop_.now());
  if (!handle) {
    ++failed_;
    problem("lorawan-uplink-refused", handle.error().reason);
    const std::uint64_t h = refused_handle_++;
    loop_.post([this, alive = alive_, h] {
      if (*alive && reporter_) reporter_(h, false);
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

void ModemLink::pump() {
  const auto alive = alive_;  // a callback may destroy us: the flag outlives this
  line_.write(modem_.take_output());
  while (auto e = modem_.poll_event()) {
    using Kind = lorawan::AtModemEvent::Kind;
    switch (e->kind) {
      case Kind::kReady:
        problem("modem-ready", e->detail);
        break;
      case Kind::kSent:
        ++sent_;
        if (reporter_) reporter_(e->handle, true);
        break;
      case Kind::kFailed:
        ++failed_;
        problem("lorawan-uplink-failed", e->detail);
        if (reporter_) reporter_(e->handle, false);
        break;
      case Kind::kReceived:
        ++received_;
        if (receiver_) receiver_(LorawanFrame{0, e->port, std::move(e->payload), false});
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
