#include "transport/lorawan/modem_link.hpp"

namespace tether::transport {

ModemLink::ModemLink(EventLoop& loop, std::string device, lorawan::AtModemConfig config)
    : loop_(loop),
      modem_(config),
      driver_(
          loop, std::move(device), "lorawan", modem_,
          [this](lorawan::AtModemEvent& e) { on_event(e); },
          [this](const std::string& event, const std::string& detail) { problem(event, detail); }) {
}

std::optional<lorawan::DevEui> ModemLink::own_dev_eui() const {
  if (!modem_.ready()) return std::nullopt;
  return modem_.dev_eui();
}

void ModemLink::problem(const std::string& event, const std::string& detail) {
  if (problem_) problem_(event, detail);
}

std::uint64_t ModemLink::send(const LorawanFrame& frame) {
  auto handle = modem_.send(frame.f_port, frame.payload, frame.confirmed, loop_.now());
  if (!handle) {
    return driver_.refuse(handle.error().reason, [this](std::uint64_t h) {
      if (reporter_) reporter_(h, false);
    });
  }
  driver_.sent();
  return *handle;
}

void ModemLink::on_event(lorawan::AtModemEvent& e) {
  using Kind = lorawan::AtModemEvent::Kind;
  if (e.kind == Kind::kReceived) {
    if (receiver_) receiver_(LorawanFrame{0, e.port, std::move(e.payload), false});
  } else if (reporter_) {
    reporter_(e.handle, e.kind == Kind::kSent);
  }
}

}  // namespace tether::transport
