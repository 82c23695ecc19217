#pragma once
// A LoRaWAN modem driven with AT commands, sans-I/O: bytes read from its serial line and the
// time go in; bytes to write, frames received, per-frame outcomes and the next deadline come
// out. The modem runs the LoRaWAN MAC (join, duty cycle, receive windows, confirmed
// repeats); we hand it one frame at a time. The dialect is RAK's RUI3 (RAK3172 and its
// kin), the one docs/lorawan.md describes:
//
//   AT, AT+DEVEUI=?, AT+BAND=? (4 EU868, 5 US915), AT+DR=?, AT+NJS=? (joined?), AT+JOIN=1:0:10:8
//   then +EVT:JOINED; AT+CFM=0|1 (confirmed or not), AT+SEND=<port>:<hex> answered OK, then
//   +EVT:TX_DONE, +EVT:SEND_CONFIRMED_OK or +EVT:SEND_CONFIRMED_FAILED(<n>); a downlink as
//   +EVT:RX_1:<rssi>:<snr>:UNICAST:<port>:<hex> (RX_2, RX_C alike). Errors: AT_BUSY_ERROR
//   (the MAC is busy: we try again), AT_PARAM_ERROR, AT_NO_NETWORK_JOINED, AT_ERROR.
#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include "common/at_lines.hpp"
#include "common/bytes.hpp"
#include "common/result.hpp"
#include "common/time.hpp"
#include "lorawan/frame.hpp"
#include "lorawan/region.hpp"

namespace tether::lorawan {

struct AtModemConfig {
  Duration command_timeout{5'000};
  Duration join_timeout{60'000};
  // From AT+SEND to its +EVT, busy retries included: EU868 at SF12 repeats a confirmed frame
  // 8 times, each after minutes of duty cycle.
  Duration send_timeout{1'200'000};
  Duration busy_retry{1'000};
  Duration restart_delay{5'000};
  std::size_t max_queued = 16;
  std::size_t max_line = 1024;  // a longer line from the modem is garbage: dropped
};

struct AtModemEvent {
  enum class Kind : std::uint8_t {
    kReady,       // start-up done (DevEUI, band and data rate known, joined)
    kSent,        // frame `handle` sent (and acknowledged, when confirmed)
    kFailed,      // frame `handle` was not; `detail` says why
    kReceived,    // a downlink: `port`, `payload`
    kMalformed,   // a line we could not read: dropped
    kRestarting,  // the modem stopped answering or refused start-up
  };
  Kind kind = Kind::kReady;
  std::uint64_t handle = 0;
  std::uint8_t port = 0;
  Bytes payload;
  std::string detail;
};

class AtModem {
 public:
  explicit AtModem(AtModemConfig config) : config_(config) {}

  void start(Instant now);
  void receive(ByteView bytes, Instant now);
  // Queues a frame; the handle names it in its kSent or kFailed event. Fails when the queue
  // is full or the port is not 1-223.
  Result<std::uint64_t> send(std::uint8_t port, Bytes payload, bool confirmed, Instant now);
  void on_timer(Instant now);

  Bytes take_output();
  std::optional<AtModemEvent> poll_event();
  std::optional<Instant> next_deadline() const;

  bool ready() const;
  // What the modem said at start-up (0 and the smallest payload before).
  DevEui dev_eui() const { return dev_eui_; }
  std::size_t max_payload() const;

 private:
  enum class State : std::uint8_t {
    kStopped,
    kStarting,
    kJoining,
    kWaitRestart,
    kIdle,
    kAwaitConfirmMode,  // AT+CFM
    kAwaitSendOk,       // AT+SEND, until OK
    kAwaitSendDone,     // until +EVT
    kBusyWait,          // AT_BUSY_ERROR: AT+SEND again later
  };
  struct Frame {
    std::uint64_t handle = 0;
    std::uint8_t port = 0;
    Bytes payload;
    bool confirmed = false;
    Instant first_try{};
  };
  void command(const std::string& text, Instant now, Duration timeout);
  void next_start_step(Instant now);
  void pump(Instant now);
  void send_head(Instant now);  // AT+SEND of the frame at the head of the queue
  void on_line(const std::string& line, Instant now);
  void on_final(bool ok, const std::string& line, Instant now);
  void finish_frame(bool sent, const std::string& detail, Instant now);
  void restart(const std::string& why, Instant now);
  bool take_downlink(const std::string& line);
  void event(AtModemEvent::Kind kind, std::string detail);

  AtModemConfig config_;
  State state_ = State::kStopped;
  std::size_t step_ = 0;
  AtLines lines_{config_.max_line};
  std::optional<Instant> deadline_;
  std::deque<Frame> queue_;
  std::deque<AtModemEvent> events_;
  std::uint64_t next_handle_ = 1;
  std::optional<bool> confirm_mode_;  // what AT+CFM last set
  DevEui dev_eui_ = 0;
  Region region_ = Region::kEu868;
  std::uint8_t dr_ = 0;
  bool joined_ = false;
};

}  // namespace tether::lorawan
