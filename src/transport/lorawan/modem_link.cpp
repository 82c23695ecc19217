#include "transport/lorawan/modem_link.hpp"

namespace tether::transport {

ModemLink::ModemLink(EventLoop& loop, std::string device, lorawan::AtModemConfig config)
    : loop_(loop),
      modem_(config),
      driver_(
          loop, std::move(device), modem_, [this](lorawan::AtModemEvent& e) { on_event(e); },
          [this](const std::string& why) { problem("modem-lost", why); }) {}

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
    driver_.later([this, h] {
      if (reporter_) reporter_(h, false);
    });
    return h;
  }
  driver_.sent();
  return *handle;
}

void ModemLink::on_event(lorawan::AtModemEvent& e) {
  using Kind = lorawan::AtModemEvent::Kind;
  switch (e.kind) {
    case Kind::kReady:
      problem("modem-ready", e.detail);
      break;
    case Kind::kSent:
      ++sent_;
      if (reporter_) reporter_(e.handle, true);
      break;
    case Kind::kFailed:
      ++failed_;
      problem("lorawan-uplink-failed", e.detail);
      if (reporter_) reporter_(e.handle, false);
      break;
    case Kind::kReceived:
      ++received_;
      if (receiver_) receiver_(LorawanFrame{0, e.port, std::move(e.payload), false});
      break;
    case Kind::kMalformed:
      ++malformed_;
      problem("modem-malformed", e.detail);
      break;
    case Kind::kRestarting:
      ++restarts_;
      problem("modem-restarting", e.detail);
      break;
  }
}

}  // namespace tether::transport
