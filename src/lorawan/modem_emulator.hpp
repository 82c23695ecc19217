#pragma once
// The other end of lorawan/at_modem for our simulator: a LoRaWAN modem's AT dialect (RAK's
// RUI3, docs/lorawan.md) over a DeviceMac, sans-I/O. `tether lorawan-ns --modem` puts one
// behind a pseudo-terminal per simulated device, so a client drives it as it would a
// RAK3172 on a serial port.
#include <cstdint>
#include <string>
#include <unordered_map>

#include "common/at_lines.hpp"
#include "common/bytes.hpp"
#include "lorawan/device_mac.hpp"

namespace tether::lorawan {

class ModemEmulator {
 public:
  explicit ModemEmulator(DeviceMac& mac) : mac_(mac) {}

  // Bytes from the serial line (the client's commands).
  void receive(ByteView bytes, Instant now);
  // What the MAC did: +EVT lines.
  void on_mac_event(const MacEvent& e);
  Bytes take_output();
  std::uint64_t bad_commands() const { return bad_commands_; }

 private:
  void on_line(const std::string& line, Instant now);
  void say(const std::string& line);

  DeviceMac& mac_;
  AtLines lines_{600};                                 // AT+SEND of 255 octets in hex fits
  bool confirmed_ = false;                             // AT+CFM
  std::unordered_map<std::uint64_t, bool> in_flight_;  // handle: confirmed
  std::uint64_t bad_commands_ = 0;
};

}  // namespace tether::lorawan
