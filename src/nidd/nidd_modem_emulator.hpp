#pragma once
// The other end of nidd/nidd_modem for our SCEF simulator: a cellular modem's TS 27.007
// non-IP commands, sans-I/O. What the client sends with AT+CSODCP comes out as uplink
// packets (with their release assistance indication); packets for the UE go in and are
// reported as +CRTDCP. AT+CPSMS sets the PSM timers the simulator then applies.
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>

#include "common/at_lines.hpp"
#include "common/bytes.hpp"
#include "common/time.hpp"
#include "nidd/nidd_modem.hpp"

namespace tether::nidd {

class NiddModemEmulator {
 public:
  explicit NiddModemEmulator(unsigned cid = 1, std::size_t max_packet = 1358)
      : cid_(cid), max_packet_(max_packet) {}

  void receive(ByteView bytes);
  // A packet the network delivers to the UE now.
  void deliver(const Bytes& packet);
  std::optional<std::pair<Bytes, ReleaseAssistance>> poll_uplink();
  Bytes take_output();

  void set_attached(bool attached) { attached_ = attached; }
  // AT+CPSMS's timers, once set.
  std::optional<Duration> periodic_tau() const { return t3412_; }
  std::optional<Duration> active_time() const { return t3324_; }
  std::uint64_t bad_commands() const { return bad_commands_; }

 private:
  void on_line(const std::string& line);
  void say(const std::string& line);

  unsigned cid_;
  std::size_t max_packet_;
  bool attached_ = true;
  bool report_ = false;  // AT+CRTDCP=1
  AtLines lines_{3000};  // a +CSODCP of 1358 octets in hex fits
  std::deque<std::pair<Bytes, ReleaseAssistance>> uplinks_;
  std::optional<Duration> t3412_;
  std::optional<Duration> t3324_;
  std::uint64_t bad_commands_ = 0;
};

}  // namespace tether::nidd
