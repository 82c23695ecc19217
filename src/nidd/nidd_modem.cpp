#include "nidd/nidd_modem.hpp"

#include <vector>

namespace tether::nidd {

namespace {
// "+CGDCONT: 1,"Non-IP","nidd.example",..." -> 1 when the type is Non-IP.
std::optional<unsigned> non_ip_cid(const std::string& line) {
  const std::string prefix = "+CGDCONT: ";
  if (line.rfind(prefix, 0) != 0) return std::nullopt;
  const auto comma = line.find(',', prefix.size());
  if (comma == std::string::npos || comma == prefix.size() || comma - prefix.size() > 2) {
    return std::nullopt;
  }
  unsigned cid = 0;
  for (std::size_t i = prefix.size(); i < comma; ++i) {
    if (line[i] < '0' || line[i] > '9') return std::nullopt;
    cid = cid * 10 + static_cast<unsigned>(line[i] - '0');
  }
  if (line.compare(comma + 1, 8, "\"Non-IP\"") != 0) return std::nullopt;
  return cid;
}

// "+CEREG: 0,1" (solicited) or "+CEREG: 1" (unsolicited): registered, home or roaming.
std::optional<bool> registered(const std::string& line) {
  const std::string prefix = "+CEREG: ";
  if (line.rfind(prefix, 0) != 0) return std::nullopt;
  std::string rest = line.substr(prefix.size());
  const auto comma = rest.find(',');
  std::string stat = comma == std::string::npos ? rest : rest.substr(comma + 1);
  stat = stat.substr(0, stat.find(','));
  return stat == "1" || stat == "5";
}
}  // namespace

void NiddModem::event(NiddModemEvent::Kind kind, std::uint64_t handle, std::string detail) {
  NiddModemEvent e;
  e.kind = kind;
  e.handle = handle;
  e.detail = std::move(detail);
  events_.push_back(std::move(e));
}

void NiddModem::command(const std::string& text, Instant now, Duration timeout) {
  lines_.write_line(text);
  deadline_ = now + timeout;
}

void NiddModem::start(Instant now) {
  steps_ = {"AT", "ATE0", "AT+CMEE=1"};
  if (!config_.psm_t3412.empty() && !config_.psm_t3324.empty()) {
    steps_.push_back("AT+CPSMS=1,,,\"" + config_.psm_t3412 + "\",\"" + config_.psm_t3324 + "\"");
  }
  steps_.insert(steps_.end(), {"AT+CGDCONT?", "AT+CRTDCP=1", "AT+CEREG?"});
  state_ = State::kStarting;
  step_ = 0;
  lines_.clear_input();
  cid_.reset();
  registered_ = false;
  command(steps_[0], now, config_.command_timeout);
}

void NiddModem::next_step(Instant now) {
  const std::string& done = steps_[step_];
  if (done == "AT+CGDCONT?" && !cid_) return restart("the modem has no Non-IP PDN context", now);
  if (done == "AT+CEREG?" || state_ == State::kAttaching) {
    if (registered_) {
      state_ = State::kIdle;
      deadline_.reset();
      event(NiddModemEvent::Kind::kReady, 0, "cid " + std::to_string(*cid_));
      return pump(now);
    }
    // Not attached yet: ask again, up to attach_timeout.
    if (state_ != State::kAttaching) {
      state_ = State::kAttaching;
      attach_until_ = now + config_.attach_timeout;
    }
    if (now >= attach_until_) return restart("the modem did not attach", now);
    deadline_ = now + config_.attach_poll;
    return;
  }
  ++step_;
  command(steps_[step_], now, config_.command_timeout);
}

Result<std::uint64_t> NiddModem::send(Bytes packet, ReleaseAssistance rai, Instant now) {
  if (packet.empty() || packet.size() > config_.max_packet) {
    return fail("a non-IP packet is 1 to " + std::to_string(config_.max_packet) + " octets");
  }
  if (queue_.size() >= config_.max_queued) return fail("the modem's queue is full");
  const std::uint64_t handle = next_handle_++;
  queue_.push_back(Packet{handle, std::move(packet), rai});
  pump(now);
  return handle;
}

void NiddModem::pump(Instant now) {
  if (state_ != State::kIdle || queue_.empty()) return;
  const Packet& p = queue_.front();
  state_ = State::kSending;
  command("AT+CSODCP=" + std::to_string(*cid_) + "," + std::to_string(p.data.size()) + ",\"" +
              to_hex(p.data) + "\"," + std::to_string(static_cast<unsigned>(p.rai)),
          now, config_.send_timeout);
}

void NiddModem::restart(const std::string& why, Instant now) {
  if (state_ == State::kSending && !queue_.empty()) {
    event(NiddModemEvent::Kind::kFailed, queue_.front().handle, why);
    queue_.pop_front();
  }
  event(NiddModemEvent::Kind::kRestarting, 0, why);
  state_ = State::kWaitRestart;
  deadline_ = now + config_.restart_delay;
}

void NiddModem::on_final(bool ok, const std::string& line, Instant now) {
  switch (state_) {
    case State::kStarting:
      if (!ok) return restart("start-up: " + steps_[step_] + " -> " + line, now);
      return next_step(now);
    case State::kAttaching:
      if (!ok) return restart("AT+CEREG? -> " + line, now);
      return next_step(now);
    case State::kSending: {
      const std::uint64_t handle = queue_.front().handle;
      queue_.pop_front();
      state_ = State::kIdle;
      deadline_.reset();
      event(ok ? NiddModemEvent::Kind::kSent : NiddModemEvent::Kind::kFailed, handle,
            ok ? std::string{} : "AT+CSODCP -> " + line);
      return pump(now);
    }
    default:
      event(NiddModemEvent::Kind::kMalformed, 0, "an answer nobody asked for: " + line);
      return;
  }
}

void NiddModem::on_line(const std::string& line, Instant now) {
  if (line.empty()) return;
  if (line == "OK") return on_final(true, line, now);
  if (line == "ERROR" || line.rfind("+CME ERROR", 0) == 0) return on_final(false, line, now);
  if (line.rfind("+CRTDCP: ", 0) == 0) {
    // +CRTDCP: <cid>,<length>,"<hex>"
    const std::string rest = line.substr(9);
    const auto c1 = rest.find(',');
    const auto c2 = c1 == std::string::npos ? c1 : rest.find(',', c1 + 1);
    Result<Bytes> data = fail("short");
    std::string length;
    if (c2 != std::string::npos && rest.size() >= c2 + 3 && rest[c2 + 1] == '"' &&
        rest.back() == '"') {
      length = rest.substr(c1 + 1, c2 - c1 - 1);
      data = from_hex(std::string_view(rest).substr(c2 + 2, rest.size() - c2 - 3));
    }
    if (!data || data->empty() || data->size() > config_.max_packet ||
        length != std::to_string(data->size())) {
      return event(NiddModemEvent::Kind::kMalformed, 0, "a +CRTDCP line we cannot read");
    }
    NiddModemEvent e;
    e.kind = NiddModemEvent::Kind::kReceived;
    e.payload = std::move(*data);
    events_.push_back(std::move(e));
    return;
  }
  if (auto cid = non_ip_cid(line)) {
    if (!cid_) cid_ = *cid;
    return;
  }
  if (auto reg = registered(line)) {
    registered_ = *reg;
    return;
  }
  // Echoes, other contexts, unsolicited chatter: nothing to do.
}

void NiddModem::receive(ByteView bytes, Instant now) {
  lines_.feed(
      bytes, [&](const std::string& line) { on_line(line, now); },
      [&] { event(NiddModemEvent::Kind::kMalformed, 0, "a line longer than any answer"); });
}

void NiddModem::on_timer(Instant now) {
  if (!deadline_ || now < *deadline_) return;
  deadline_.reset();
  switch (state_) {
    case State::kWaitRestart:
      return start(now);
    case State::kAttaching:
      return command("AT+CEREG?", now, config_.command_timeout);
    case State::kIdle:
    case State::kStopped:
      return;
    default:
      return restart("no answer from the modem", now);
  }
}

Bytes NiddModem::take_output() {
  return lines_.take_output();
}

std::optional<NiddModemEvent> NiddModem::poll_event() {
  if (events_.empty()) return std::nullopt;
  auto e = std::move(events_.front());
  events_.pop_front();
  return e;
}

}  // namespace tether::nidd
