#pragma once
// An NB-IoT or LTE-M modem sending non-IP data over the control plane, driven with the AT
// commands of 3GPP TS 27.007 (10.1.43 +CSODCP, 10.1.44 +CRTDCP), sans-I/O: bytes read from
// its serial line and the time go in; bytes to write, packets received, per-packet outcomes
// and the next deadline come out. The serial device sits at the edge (transport/nidd).
//
// Start-up: AT, ATE0 (no echo), AT+CMEE=1 (numeric errors), AT+CPSMS=1,,,"T3412","T3324"
// when PSM timers are configured (Appendix D.8), AT+CGDCONT? (the context of PDP type
// "Non-IP" gives the cid), AT+CRTDCP=1 (mobile-terminated data reported as +CRTDCP), then
// AT+CEREG? until the modem is registered (stat 1 or 5). Sending:
// AT+CSODCP=<cid>,<length>,"<hex>",<RAI> answered OK or +CME ERROR, one at a time; the
// release assistance indication is D.4's. Receiving: +CRTDCP: <cid>,<length>,"<hex>".
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "common/at_lines.hpp"
#include "common/bytes.hpp"
#include "common/result.hpp"
#include "common/time.hpp"

namespace tether::nidd {

// TS 27.007 <RAI>, Appendix D.4: what the network may expect after an uplink.
enum class ReleaseAssistance : std::uint8_t {
  kNone = 0,           // more may follow (answering a Read: the server may ask more)
  kNoFurtherData = 1,  // release at once (a NON notification)
  kOneDownlink = 2,    // release after one downlink (an Update's answer)
};

struct NiddModemConfig {
  Duration command_timeout{5'000};
  Duration send_timeout{30'000};  // AT+CSODCP waits for the network
  Duration attach_timeout{180'000};
  Duration attach_poll{2'000};
  Duration restart_delay{5'000};
  std::size_t max_queued = 16;
  std::size_t max_packet = 1358;  // TS 24.301 6.6.4.2
  std::size_t max_line = 3000;    // a +CRTDCP of max_packet octets in hex fits
  // AT+CPSMS timers as TS 24.008 bit strings (nidd/psm_timers encodes them); empty: left as
  // the modem has them.
  std::string psm_t3412;
  std::string psm_t3324;
};

struct NiddModemEvent {
  enum class Kind : std::uint8_t { kReady, kSent, kFailed, kReceived, kMalformed, kRestarting };
  Kind kind = Kind::kReady;
  std::uint64_t handle = 0;
  Bytes payload;
  std::string detail;
};

class NiddModem {
 public:
  explicit NiddModem(NiddModemConfig config) : config_(std::move(config)) {}

  void start(Instant now);
  void receive(ByteView bytes, Instant now);
  // Queues a packet; the handle names it in its kSent or kFailed event.
  Result<std::uint64_t> send(Bytes packet, ReleaseAssistance rai, Instant now);
  void on_timer(Instant now);

  Bytes take_output();
  std::optional<NiddModemEvent> poll_event();
  std::optional<Instant> next_deadline() const { return deadline_; }
  bool ready() const { return state_ == State::kIdle || state_ == State::kSending; }
  std::size_t max_packet() const { return config_.max_packet; }

 private:
  enum class State : std::uint8_t {
    kStopped,
    kStarting,
    kAttaching,
    kWaitRestart,
    kIdle,
    kSending
  };
  struct Packet {
    std::uint64_t handle = 0;
    Bytes data;
    ReleaseAssistance rai = ReleaseAssistance::kNone;
  };
  void command(const std::string& text, Instant now, Duration timeout);
  void next_step(Instant now);
  void pump(Instant now);
  void on_line(const std::string& line, Instant now);
  void on_final(bool ok, const std::string& line, Instant now);
  void restart(const std::string& why, Instant now);
  void event(NiddModemEvent::Kind kind, std::uint64_t handle, std::string detail);

  NiddModemConfig config_;
  State state_ = State::kStopped;
  std::vector<std::string> steps_;  // the start-up commands
  std::size_t step_ = 0;
  AtLines lines_{config_.max_line};
  std::optional<Instant> deadline_;
  std::deque<Packet> queue_;
  std::deque<NiddModemEvent> events_;
  std::uint64_t next_handle_ = 1;
  std::optional<unsigned> cid_;  // the Non-IP context
  bool registered_ = false;
  Instant attach_until_{};
};

}  // namespace tether::nidd
