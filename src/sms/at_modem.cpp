#include "sms/at_modem.hpp"

#include <array>

#include "sms/pdu.hpp"

namespace tether::sms {

namespace {
// The first "AT" only resynchronises (its answer may be ERROR: what came before the ESC may
// have been a half-typed line); the rest must each answer OK.
// AT+CSMS=0: phase 2 message service, where a +CMT needs no AT+CNMA acknowledgement (27.005
// 3.2.1); under service 1 a modem waits for one and stops routing SMS to us without it.
constexpr std::array<const char*, 6> kStartup{"AT",        "ATE0",      "AT+CMEE=1",
                                              "AT+CSMS=0", "AT+CMGF=0", "AT+CNMI=2,2,0,0,0"};
constexpr std::size_t kMaxReceived = 64;
constexpr std::size_t kMaxEvents = 64;

bool starts_with(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}
}  // namespace

void AtModem::start(Instant now) {
  input_.clear();
  expect_pdu_ = false;
  start_step_ = 0;
  state_ = State::kStarting;
  // A modem left waiting for a PDU takes the ESC as "never mind" before the first command.
  output_.push_back(0x1B);
  next_start_step(now);
}

void AtModem::next_start_step(Instant now) {
  if (start_step_ == kStartup.size()) {
    state_ = State::kIdle;
    deadline_.reset();
    events_.push_back({AtModemEvent::Kind::kReady, ""});
    pump(now);
    return;
  }
  command(kStartup[start_step_], now, config_.command_timeout);
}

void AtModem::command(const std::string& text, Instant now, Duration timeout) {
  output_.insert(output_.end(), text.begin(), text.end());
  output_.push_back('\r');
  deadline_ = now + timeout;
}

Result<Ok> AtModem::send(const ShortMessage& m, Instant now) {
  if (queue_.size() >= config_.max_queued) {
    ++counters_.queue_full;
    return fail("the modem's send queue is full");
  }
  Submit s;
  s.reference = reference_++;
  s.destination = m.to;
  s.pid = m.pid;
  s.dcs = m.dcs;
  s.udh = m.udh;
  s.data = m.data;
  auto tpdu = encode_submit(s);
  if (!tpdu) return tpdu.error();
  queue_.push_back(std::move(*tpdu));
  pump(now);
  return Ok{};
}

void AtModem::pump(Instant now) {
  if (state_ != State::kIdle || queue_.empty()) return;
  state_ = State::kAwaitPrompt;
  command("AT+CMGS=" + std::to_string(queue_.front().size()), now, config_.command_timeout);
}

void AtModem::receive(ByteView bytes, Instant now) {
  for (const std::uint8_t b : bytes) {
    // The prompt "> " ends no line: it is the cue for the PDU.
    if (state_ == State::kAwaitPrompt && b == '>' && input_.empty()) {
      static constexpr char kHex[] = "0123456789ABCDEF";
      std::string hex = "00";  // the default SMSC
      for (const std::uint8_t o : queue_.front()) {
        hex += kHex[o >> 4];
        hex += kHex[o & 0x0F];
      }
      output_.insert(output_.end(), hex.begin(), hex.end());
      output_.push_back(0x1A);
      state_ = State::kAwaitSent;
      deadline_ = now + config_.send_timeout;
      continue;
    }
    if (b == '\r' || b == '\n') {
      if (!input_.empty()) {
        std::string line;
        line.swap(input_);
        on_line(std::move(line), now);
      }
      continue;
    }
    if (input_.size() < config_.max_line) {
      input_.push_back(static_cast<char>(b));
    } else if (input_.size() == config_.max_line) {
      input_.push_back('\0');  // marks the line as too long; dropped at its end
    }
  }
}

void AtModem::on_line(std::string line, Instant now) {
  if (line.size() > config_.max_line) {
    expect_pdu_ = false;
    return;
  }
  if (line == " " || line == ">" || line == "> ") return;
  if (expect_pdu_) {
    expect_pdu_ = false;
    take_deliver(line);
    return;
  }
  // 27.005 3.4.1: +CMT: [<alpha>],<length> then the PDU on the next line.
  if (starts_with(line, "+CMT:")) {
    expect_pdu_ = true;
    return;
  }
  if (line == "OK") return on_final(true, line, now);
  if (line == "ERROR" || starts_with(line, "+CMS ERROR") || starts_with(line, "+CME ERROR")) {
    return on_final(false, line, now);
  }
  // Everything else (an echo, +CMGS: <mr>, RING, unsolicited codes we did not ask for) is
  // information only.
}

void AtModem::on_final(bool ok, const std::string& line, Instant now) {
  switch (state_) {
    case State::kStarting:
      if (!ok && start_step_ != 0) {
        return restart(
            "start-up command " + std::string(kStartup[start_step_]) + " answered " + line, now);
      }
      ++start_step_;
      next_start_step(now);
      return;
    case State::kAwaitPrompt:
    case State::kAwaitSent:
      queue_.pop_front();
      if (ok) {
        ++counters_.sent;
        events_.push_back({AtModemEvent::Kind::kSent, ""});
      } else {
        ++counters_.send_failures;
        events_.push_back({AtModemEvent::Kind::kSendFailed, line});
      }
      state_ = State::kIdle;
      deadline_.reset();
      pump(now);
      return;
    default:
      return;
  }
}

void AtModem::take_deliver(const std::string& hex) {
  auto pdu = from_hex(hex);
  Result<Deliver> deliver = fail("not hex");
  if (pdu) {
    auto tpdu = skip_smsc_address(*pdu);
    deliver = tpdu ? decode_deliver(*tpdu) : Result<Deliver>(tpdu.error());
  }
  if (!deliver) {
    ++counters_.malformed;
    if (events_.size() < kMaxEvents) {
      events_.push_back({AtModemEvent::Kind::kMalformed, deliver.error().reason});
    }
    return;
  }
  ++counters_.received;
  if (received_.size() >= kMaxReceived) received_.pop_front();
  ShortMessage m;
  m.from = std::move(deliver->originator);
  m.to = config_.own_number;
  m.pid = deliver->pid;
  m.dcs = deliver->dcs;
  m.udh = std::move(deliver->udh);
  m.data = std::move(deliver->data);
  received_.push_back(std::move(m));
}

void AtModem::restart(const std::string& why, Instant now) {
  ++counters_.restarts;
  events_.push_back({AtModemEvent::Kind::kRestarting, why});
  if (state_ == State::kAwaitPrompt || state_ == State::kAwaitSent) {
    // The message in flight may or may not have gone: report it failed, never send twice.
    queue_.pop_front();
    ++counters_.send_failures;
    events_.push_back({AtModemEvent::Kind::kSendFailed, why});
  }
  state_ = State::kWaitRestart;
  deadline_ = now + config_.restart_delay;
}

void AtModem::on_timer(Instant now) {
  if (!deadline_ || now < *deadline_) return;
  deadline_.reset();
  switch (state_) {
    case State::kWaitRestart:
      start(now);
      return;
    case State::kStarting:
      return restart("no answer to " + std::string(kStartup[start_step_]), now);
    case State::kAwaitPrompt:
      return restart("no prompt after AT+CMGS", now);
    case State::kAwaitSent:
      return restart("no answer after sending a PDU", now);
    default:
      return;
  }
}

Bytes AtModem::take_output() {
  Bytes out;
  out.swap(output_);
  return out;
}

std::optional<ShortMessage> AtModem::poll_received() {
  if (received_.empty()) return std::nullopt;
  ShortMessage m = std::move(received_.front());
  received_.pop_front();
  return m;
}

std::optional<AtModemEvent> AtModem::poll_event() {
  if (events_.empty()) return std::nullopt;
  AtModemEvent e = std::move(events_.front());
  events_.pop_front();
  return e;
}

std::optional<Instant> AtModem::next_deadline() const {
  return deadline_;
}

}  // namespace tether::sms
