#include "lorawan/modem_emulator.hpp"

namespace tether::lorawan {

namespace {}  // namespace

void ModemEmulator::say(const std::string& line) {
  lines_.write_line(line);
}

Bytes ModemEmulator::take_output() {
  return lines_.take_output();
}

void ModemEmulator::on_mac_event(const MacEvent& e) {
  switch (e.kind) {
    case MacEvent::Kind::kReceived:
      say("+EVT:RX_1:-60:9:UNICAST:" + std::to_string(e.port) + ":" + upper_hex(e.payload));
      return;
    case MacEvent::Kind::kSent:
    case MacEvent::Kind::kFailed: {
      auto it = in_flight_.find(e.handle);
      if (it == in_flight_.end()) return;
      const bool confirmed = it->second;
      in_flight_.erase(it);
      if (!confirmed) {
        say("+EVT:TX_DONE");
      } else if (e.kind == MacEvent::Kind::kSent) {
        say("+EVT:SEND_CONFIRMED_OK");
      } else {
        say("+EVT:SEND_CONFIRMED_FAILED(" + std::to_string(mac_.config().confirmed_transmissions) +
            ")");
      }
      return;
    }
  }
}

void ModemEmulator::receive(ByteView bytes, Instant now) {
  lines_.feed(
      bytes, [&](const std::string& line) { on_line(line, now); },
      [&] {
        ++bad_commands_;
        say("AT_PARAM_ERROR");
      });
}

void ModemEmulator::on_line(const std::string& line, Instant now) {
  const auto& c = mac_.config();
  if (line == "AT") return say("OK");
  if (line == "AT+DEVEUI=?") return say("AT+DEVEUI=" + dev_eui_text(c.dev_eui)), say("OK");
  if (line == "AT+BAND=?") {
    return say(std::string("AT+BAND=") + (c.region == Region::kEu868 ? "4" : "5")), say("OK");
  }
  if (line == "AT+DR=?") return say("AT+DR=" + std::to_string(c.dr)), say("OK");
  if (line == "AT+NJS=?") return say("AT+NJS=1"), say("OK");  // joined (ABP-like)
  if (line.rfind("AT+JOIN=", 0) == 0) return say("OK"), say("+EVT:JOINED");
  if (line == "AT+CFM=?") return say(std::string("AT+CFM=") + (confirmed_ ? "1" : "0")), say("OK");
  if (line == "AT+CFM=0" || line == "AT+CFM=1") {
    confirmed_ = line.back() == '1';
    return say("OK");
  }
  if (line.rfind("AT+SEND=", 0) == 0) {
    const std::string args = line.substr(8);
    const auto colon = args.find(':');
    unsigned port = 0;
    bool good = colon != std::string::npos && colon > 0 && colon <= 3;
    for (std::size_t i = 0; good && i < colon; ++i) {
      good = args[i] >= '0' && args[i] <= '9';
      port = port * 10 + static_cast<unsigned>(args[i] - '0');
    }
    auto payload = good ? from_hex(args.substr(colon + 1)) : Result<Bytes>(fail("no port"));
    good = good && payload.ok();
    if (!good || !is_application_port(port)) {
      ++bad_commands_;
      return say("AT_PARAM_ERROR");
    }
    // One frame at a time, as a real modem: busy while the last one is in its windows.
    if (!mac_.idle()) return say("AT_BUSY_ERROR");
    auto handle = mac_.send(static_cast<std::uint8_t>(port), std::move(*payload), confirmed_, now);
    if (!handle) {
      ++bad_commands_;
      return say("AT_PARAM_ERROR");
    }
    in_flight_[*handle] = confirmed_;
    return say("OK");
  }
  ++bad_commands_;
  say("AT_COMMAND_NOT_FOUND");
}

}  // namespace tether::lorawan
