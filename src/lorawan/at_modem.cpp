#include "lorawan/at_modem.hpp"

#include <array>
#include <cctype>
#include <vector>

namespace tether::lorawan {

namespace {
constexpr std::array<const char*, 5> kStartSteps{"AT", "AT+DEVEUI=?", "AT+BAND=?", "AT+DR=?",
                                                 "AT+NJS=?"};

std::optional<unsigned> small_number(const std::string& text, unsigned max) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  unsigned v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > max) return std::nullopt;
  return v;
}

std::vector<std::string> split(const std::string& s, char by) {
  std::vector<std::string> out;
  std::size_t from = 0;
  while (true) {
    const auto at = s.find(by, from);
    out.push_back(s.substr(from, at - from));
    if (at == std::string::npos) return out;
    from = at + 1;
  }
}

// "AT+DR=3" (or a bare "3") to "3".
std::string value_of(const std::string& line) {
  const auto eq = line.find('=');
  return line.rfind("AT+", 0) == 0 && eq != std::string::npos ? line.substr(eq + 1) : line;
}
}  // namespace

bool AtModem::ready() const {
  switch (state_) {
    case State::kIdle:
    case State::kAwaitConfirmMode:
    case State::kAwaitSendOk:
    case State::kAwaitSendDone:
    case State::kBusyWait:
      return true;
    default:
      return false;
  }
}

std::size_t AtModem::max_payload() const {
  auto rate = data_rate(region_, dr_);
  return rate ? rate->max_payload : data_rate(region_, 0)->max_payload;
}

void AtModem::event(AtModemEvent::Kind kind, std::string detail) {
  AtModemEvent e;
  e.kind = kind;
  e.detail = std::move(detail);
  events_.push_back(std::move(e));
}

void AtModem::command(const std::string& text, Instant now, Duration timeout) {
  lines_.write_line(text);
  deadline_ = now + timeout;
}

void AtModem::start(Instant now) {
  state_ = State::kStarting;
  step_ = 0;
  lines_.clear_input();
  confirm_mode_.reset();
  joined_ = false;
  // What waits is sent afresh after a restart: its time starts again.
  for (auto& f : queue_) f.first_try = Instant{};
  command(kStartSteps[0], now, config_.command_timeout);
}

void AtModem::next_start_step(Instant now) {
  ++step_;
  if (step_ < kStartSteps.size()) {
    command(kStartSteps[step_], now, config_.command_timeout);
    return;
  }
  if (!joined_) {
    // OTAA with the modem's stored keys, no auto-join, 10 s between 8 attempts.
    state_ = State::kJoining;
    command("AT+JOIN=1:0:10:8", now, config_.join_timeout);
    return;
  }
  state_ = State::kIdle;
  deadline_.reset();
  event(AtModemEvent::Kind::kReady,
        dev_eui_text(dev_eui_) + " " + region_name(region_) + " DR" + std::to_string(dr_));
  pump(now);
}

Result<std::uint64_t> AtModem::send(std::uint8_t port, Bytes payload, bool confirmed, Instant now) {
  if (!is_application_port(port)) return fail("FPort outside 1-223");
  if (queue_.size() >= config_.max_queued) return fail("the modem's queue is full");
  Frame f;
  f.handle = next_handle_++;
  f.port = port;
  f.payload = std::move(payload);
  f.confirmed = confirmed;
  const auto handle = f.handle;
  queue_.push_back(std::move(f));
  pump(now);
  return handle;
}

void AtModem::pump(Instant now) {
  if (state_ != State::kIdle || queue_.empty()) return;
  Frame& f = queue_.front();
  if (f.first_try == Instant{}) f.first_try = now;
  if (confirm_mode_ != f.confirmed) {
    state_ = State::kAwaitConfirmMode;
    command(std::string("AT+CFM=") + (f.confirmed ? "1" : "0"), now, config_.command_timeout);
    return;
  }
  send_head(now);
}

void AtModem::send_head(Instant now) {
  const Frame& f = queue_.front();
  state_ = State::kAwaitSendOk;
  command("AT+SEND=" + std::to_string(f.port) + ":" + upper_hex(f.payload), now,
          config_.command_timeout);
}

void AtModem::finish_frame(bool sent, const std::string& detail, Instant now) {
  if (!queue_.empty()) {
    AtModemEvent e;
    e.kind = sent ? AtModemEvent::Kind::kSent : AtModemEvent::Kind::kFailed;
    e.handle = queue_.front().handle;
    e.detail = detail;
    events_.push_back(std::move(e));
    queue_.pop_front();
  }
  state_ = State::kIdle;
  deadline_.reset();
  pump(now);
}

void AtModem::restart(const std::string& why, Instant now) {
  // What was in the modem's hands has an unknown fate: reported failed, CoAP decides.
  if (state_ == State::kAwaitSendOk || state_ == State::kAwaitSendDone ||
      state_ == State::kBusyWait || state_ == State::kAwaitConfirmMode) {
    AtModemEvent e;
    e.kind = AtModemEvent::Kind::kFailed;
    e.handle = queue_.front().handle;
    e.detail = why;
    events_.push_back(std::move(e));
    queue_.pop_front();
  }
  event(AtModemEvent::Kind::kRestarting, why);
  state_ = State::kWaitRestart;
  deadline_ = now + config_.restart_delay;
}

bool AtModem::take_downlink(const std::string& line) {
  // +EVT:RX_1:<rssi>:<snr>:UNICAST:<port>:<hex>
  auto parts = split(line, ':');
  if (parts.size() < 2 || parts[1].rfind("RX_", 0) != 0) return false;
  AtModemEvent e;
  e.kind = AtModemEvent::Kind::kReceived;
  auto port = parts.size() == 7 ? small_number(parts[5], 255) : std::nullopt;
  auto payload = parts.size() == 7 ? from_hex(parts[6]) : Result<Bytes>(fail("short"));
  if (!port || !payload || !is_application_port(*port) || payload->size() > 255) {
    event(AtModemEvent::Kind::kMalformed, "a downlink line we cannot read");
    return true;
  }
  if (payload->empty()) return true;  // an ACK alone
  e.port = static_cast<std::uint8_t>(*port);
  e.payload = std::move(*payload);
  events_.push_back(std::move(e));
  return true;
}

void AtModem::on_final(bool ok, const std::string& line, Instant now) {
  switch (state_) {
    case State::kStarting:
      if (!ok) return restart(std::string("start-up: ") + kStartSteps[step_] + " -> " + line, now);
      return next_start_step(now);
    case State::kJoining:
      if (!ok) return restart("AT+JOIN -> " + line, now);
      deadline_ = now + config_.join_timeout;  // OK; +EVT:JOINED follows
      return;
    case State::kAwaitConfirmMode:
      if (!ok) return finish_frame(false, "AT+CFM -> " + line, now);
      confirm_mode_ = queue_.front().confirmed;
      state_ = State::kIdle;
      return pump(now);
    case State::kAwaitSendOk:
      if (ok) {
        state_ = State::kAwaitSendDone;
        deadline_ = queue_.front().first_try + config_.send_timeout;
        return;
      }
      if (line == "AT_BUSY_ERROR" && now < queue_.front().first_try + config_.send_timeout) {
        state_ = State::kBusyWait;
        deadline_ = now + config_.busy_retry;
        return;
      }
      if (line == "AT_NO_NETWORK_JOINED") {
        joined_ = false;
        return restart("the modem left the network", now);
      }
      return finish_frame(false, "AT+SEND -> " + line, now);
    default:
      event(AtModemEvent::Kind::kMalformed, "an answer nobody asked for: " + line);
      return;
  }
}

void AtModem::on_line(const std::string& line, Instant now) {
  if (line.empty()) return;
  if (line == "OK") return on_final(true, line, now);
  if (line.rfind("AT_", 0) == 0) return on_final(false, line, now);
  if (line.rfind("+EVT:", 0) == 0) {
    if (take_downlink(line)) return;
    if (line == "+EVT:JOINED") {
      if (state_ == State::kJoining) {
        joined_ = true;
        step_ = kStartSteps.size() - 1;
        next_start_step(now);
      }
      return;
    }
    if (line.rfind("+EVT:JOIN_FAILED", 0) == 0) {
      if (state_ == State::kJoining) restart("the join failed", now);
      return;
    }
    if (state_ == State::kAwaitSendDone) {
      if (line == "+EVT:TX_DONE" || line == "+EVT:SEND_CONFIRMED_OK") {
        return finish_frame(true, {}, now);
      }
      if (line.rfind("+EVT:SEND_CONFIRMED_FAILED", 0) == 0) {
        return finish_frame(false, "not acknowledged by the network", now);
      }
    }
    return;  // events we have no use for
  }
  if (state_ != State::kStarting) return;  // an echo, or chatter
  const std::string v = value_of(line);
  switch (step_) {
    case 1: {
      if (auto eui = parse_dev_eui(v)) dev_eui_ = *eui;
      break;
    }
    case 2: {
      auto band = small_number(v, 15);
      if (band == 4u) region_ = Region::kEu868;
      if (band == 5u) region_ = Region::kUs915;
      break;
    }
    case 3:
      if (auto dr = small_number(v, 15)) dr_ = static_cast<std::uint8_t>(*dr);
      break;
    case 4:
      joined_ = v == "1";
      break;
    default:
      break;
  }
}

void AtModem::receive(ByteView bytes, Instant now) {
  lines_.feed(
      bytes, [&](const std::string& line) { on_line(line, now); },
      [&] { event(AtModemEvent::Kind::kMalformed, "a line longer than any answer"); });
}

void AtModem::on_timer(Instant now) {
  if (!deadline_ || now < *deadline_) return;
  deadline_.reset();
  switch (state_) {
    case State::kWaitRestart:
      return start(now);
    case State::kBusyWait:
      return send_head(now);
    case State::kAwaitSendDone:
      return finish_frame(false, "no word from the modem on the frame", now);
    case State::kStopped:
    case State::kIdle:
      return;
    default:
      return restart("no answer from the modem", now);
  }
}

Bytes AtModem::take_output() {
  return lines_.take_output();
}

std::optional<AtModemEvent> AtModem::poll_event() {
  if (events_.empty()) return std::nullopt;
  auto e = std::move(events_.front());
  events_.pop_front();
  return e;
}

std::optional<Instant> AtModem::next_deadline() const {
  return deadline_;
}

}  // namespace tether::lorawan
