#include "nidd/nidd_modem_emulator.hpp"

#include <vector>

#include "nidd/psm_timers.hpp"

namespace tether::nidd {

namespace {
std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::size_t from = 0;
  while (true) {
    const auto at = s.find(',', from);
    out.push_back(s.substr(from, at - from));
    if (at == std::string::npos) return out;
    from = at + 1;
  }
}

std::string unquote(const std::string& s) {
  return s.size() >= 2 && s.front() == '"' && s.back() == '"' ? s.substr(1, s.size() - 2) : s;
}
}  // namespace

void NiddModemEmulator::say(const std::string& line) {
  lines_.write_line(line);
}

Bytes NiddModemEmulator::take_output() {
  return lines_.take_output();
}

std::optional<std::pair<Bytes, ReleaseAssistance>> NiddModemEmulator::poll_uplink() {
  if (uplinks_.empty()) return std::nullopt;
  auto u = std::move(uplinks_.front());
  uplinks_.pop_front();
  return u;
}

void NiddModemEmulator::deliver(const Bytes& packet) {
  if (!report_) return;  // without AT+CRTDCP=1 the modem keeps it to itself
  say("+CRTDCP: " + std::to_string(cid_) + "," + std::to_string(packet.size()) + ",\"" +
      to_hex(packet) + "\"");
}

void NiddModemEmulator::receive(ByteView bytes) {
  lines_.feed(
      bytes, [&](const std::string& line) { on_line(line); },
      [&] {
        ++bad_commands_;
        say("ERROR");
      });
}

void NiddModemEmulator::on_line(const std::string& line) {
  if (line == "AT" || line == "ATE0" || line == "AT+CMEE=1") return say("OK");
  if (line == "AT+CGDCONT?") {
    say("+CGDCONT: " + std::to_string(cid_) + ",\"Non-IP\",\"nidd.tether\",\"\",0,0");
    return say("OK");
  }
  if (line == "AT+CRTDCP=1" || line == "AT+CRTDCP=0") {
    report_ = line.back() == '1';
    return say("OK");
  }
  if (line == "AT+CEREG?") {
    say(std::string("+CEREG: 0,") + (attached_ ? "1" : "2"));
    return say("OK");
  }
  if (line.rfind("AT+CPSMS=", 0) == 0) {
    // AT+CPSMS=1,,,"<T3412>","<T3324>"
    auto f = split(line.substr(9));
    if (f.size() == 5 && f[0] == "1") {
      auto tau = decode_t3412(unquote(f[3]));
      auto active = decode_t3324(unquote(f[4]));
      if (tau && active) {
        t3412_ = tau;
        t3324_ = active;
        return say("OK");
      }
    }
    ++bad_commands_;
    return say("+CME ERROR: 50");  // incorrect parameters
  }
  if (line.rfind("AT+CSODCP=", 0) == 0) {
    // AT+CSODCP=<cid>,<length>,"<hex>"[,<RAI>]
    auto f = split(line.substr(10));
    auto data = f.size() >= 3 ? from_hex(unquote(f[2])) : Result<Bytes>(fail("short"));
    const bool good = (f.size() == 3 || f.size() == 4) && f[0] == std::to_string(cid_) && data &&
                      !data->empty() && data->size() <= max_packet_ &&
                      f[1] == std::to_string(data->size()) &&
                      (f.size() == 3 || f[3] == "0" || f[3] == "1" || f[3] == "2");
    if (!good) {
      ++bad_commands_;
      return say("+CME ERROR: 50");
    }
    if (!attached_) return say("+CME ERROR: 30");  // no network service
    const auto rai =
        f.size() == 4 ? static_cast<ReleaseAssistance>(f[3][0] - '0') : ReleaseAssistance::kNone;
    uplinks_.emplace_back(std::move(*data), rai);
    return say("OK");
  }
  ++bad_commands_;
  say("ERROR");
}

}  // namespace tether::nidd
