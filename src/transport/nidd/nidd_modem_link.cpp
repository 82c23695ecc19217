#include "transport/nidd/nidd_modem_link.hpp"

namespace tether::transport {

NiddModemLink::NiddModemLink(EventLoop& loop, std::string device, nidd::NiddModemConfig config)
    : loop_(loop),
      modem_(std::move(config)),
      driver_(
          loop, std::move(device), "nidd", modem_, [this](nidd::NiddModemEvent& e) { on_event(e); },
          [this](const std::string& event, const std::string& detail) { problem(event, detail); }) {
}

void NiddModemLink::problem(const std::string& event, const std::string& detail) {
  if (problem_) problem_(event, detail);
}

std::uint64_t NiddModemLink::send(const NiddPacket& packet) {
  auto handle = modem_.send(packet.data, packet.rai, loop_.now());
  if (!handle) {
    return driver_.refuse(handle.error().reason, [this](std::uint64_t h) {
      if (reporter_) reporter_(h, Outcome::kFailed);
    });
  }
  driver_.sent();
  return *handle;
}

void NiddModemLink::on_event(nidd::NiddModemEvent& e) {
  using Kind = nidd::NiddModemEvent::Kind;
  if (e.kind == Kind::kReceived) {
    if (receiver_) receiver_(std::string{}, std::move(e.payload));
  } else if (reporter_) {
    reporter_(e.handle, e.kind == Kind::kSent ? Outcome::kDelivered : Outcome::kFailed);
  }
}

}  // namespace tether::transport
