#pragma once
// A cellular modem driven with AT commands in PDU mode (3GPP TS 27.005), sans-I/O: bytes
// read from the serial line and the time go in; bytes to write, received short messages,
// events and the next deadline come out. The serial device sits at the edge
// (transport/sms/modem_carrier).
//
// Start-up: ESC and AT (ending a PDU prompt a previous user left open), ATE0 (no echo), AT+CMEE=1
// (numeric errors), AT+CMGF=0 (PDU mode), AT+CNMI=2,2,0,0,0 (hand every SMS to us at once as +CMT,
// not into storage). Sending: AT+CMGS=<TPDU length>, wait for the "> " prompt, the PDU in hex,
// Ctrl-Z, then +CMGS and OK. One command at a time; a command without an answer in time makes the
// modem start over.
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "common/time.hpp"
#include "sms/short_message.hpp"

namespace tether::sms {

struct AtModemConfig {
  std::string own_number;  // our MSISDN: the "to" of what we receive
  Duration command_timeout{10'000};
  Duration send_timeout{60'000};  // AT+CMGS waits for the network
  Duration restart_delay{5'000};  // after a failed start-up or a dead modem
  std::size_t max_queued = 64;    // short messages waiting to be sent
  std::size_t max_line = 1024;    // a longer line from the modem is garbage: dropped
};

struct AtModemEvent {
  enum class Kind {
    kReady,       // start-up done: sending and receiving
    kSent,        // one short message accepted by the network
    kSendFailed,  // one short message refused (+CMS ERROR, timeout): dropped
    kMalformed,   // an incoming PDU we could not read: dropped
    kRestarting,  // the modem stopped answering or refused start-up
  };
  Kind kind;
  std::string detail;
};

struct AtModemCounters {
  std::uint64_t sent = 0;
  std::uint64_t send_failures = 0;
  std::uint64_t received = 0;
  std::uint64_t malformed = 0;
  std::uint64_t queue_full = 0;
  std::uint64_t restarts = 0;
};

class AtModem {
 public:
  explicit AtModem(AtModemConfig config) : config_(std::move(config)) {}

  // Begins (or begins again) the start-up sequence.
  void start(Instant now);
  void receive(ByteView bytes, Instant now);
  // Queues a short message (`to`, `udh`, `data`, `pid`, `dcs`); fails when the PDU cannot
  // be made or the queue is full.
  Result<Ok> send(const ShortMessage& m, Instant now);
  void on_timer(Instant now);

  Bytes take_output();
  std::optional<ShortMessage> poll_received();
  std::optional<AtModemEvent> poll_event();
  std::optional<Instant> next_deadline() const;
  bool ready() const {
    return state_ == State::kIdle || state_ == State::kAwaitPrompt || state_ == State::kAwaitSent;
  }
  std::size_t queued() const { return queue_.size(); }
  const AtModemCounters& counters() const { return counters_; }

 private:
  enum class State { kStopped, kStarting, kIdle, kAwaitPrompt, kAwaitSent, kWaitRestart };

  void command(const std::string& text, Instant now, Duration timeout);
  void next_start_step(Instant now);
  void pump(Instant now);
  void on_line(std::string line, Instant now);
  void on_final(bool ok, const std::string& line, Instant now);
  void restart(const std::string& why, Instant now);
  void take_deliver(const std::string& hex);

  AtModemConfig config_;
  State state_ = State::kStopped;
  std::size_t start_step_ = 0;
  std::string input_;
  Bytes output_;
  std::optional<Instant> deadline_;
  std::deque<Bytes> queue_;  // TPDUs to send
  bool expect_pdu_ = false;  // the line after +CMT: is the PDU
  std::uint8_t reference_ = 0;
  std::deque<ShortMessage> received_;
  std::deque<AtModemEvent> events_;
  AtModemCounters counters_;
};

}  // namespace tether::sms
