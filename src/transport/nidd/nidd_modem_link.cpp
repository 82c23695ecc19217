#include "transport/nidd/nidd_modem_link.hpp"

namespace tether::transport {

NiddModemLink::NiddModemLink(EventLoop& loop, std::string device, nidd::NiddModemConfig config)
    : loop_(loop),
      modem_(std::move(config)),
      driver_(
          loop, std::move(device), modem_, [this](nidd::NiddModemEvent& e) { on_event(e); },
          [this](const std::string& why) { problem("modem-lost", why); }) {}

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
    driver_.later([this, h] {
      if (reporter_) reporter_(h, Outcome::kFailed);
    });
    return h;
  }
  driver_.sent();
  return *handle;
}

void NiddModemLink::on_event(nidd::NiddModemEvent& e) {
  using Kind = nidd::NiddModemEvent::Kind;
  switch (e.kind) {
    case Kind::kReady:
      problem("modem-ready", e.detail);
      break;
    case Kind::kSent:
      ++sent_;
      if (reporter_) reporter_(e.handle, Outcome::kDelivered);
      break;
    case Kind::kFailed:
      ++failed_;
      problem("nidd-uplink-failed", e.detail);
      if (reporter_) reporter_(e.handle, Outcome::kFailed);
      break;
    case Kind::kReceived:
      ++received_;
      if (receiver_) receiver_(std::string{}, std::move(e.payload));
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
