#include "transport/sms/modem_carrier.hpp"

namespace tether::transport {

ModemCarrier::ModemCarrier(EventLoop& loop, ModemOptions options)
    : loop_(loop),
      options_(std::move(options)),
      modem_(options_.modem),
      line_(loop, options_.device,
            SerialLine::Handlers{
                [this] {
                  (void)modem_.take_output();  // what was meant for the device we lost
                  modem_.start(loop_.now());
                  pump(true);
                },
                [this](ByteView bytes) { modem_.receive(bytes, loop_.now()); },
                [this] { pump(true); },
                [this](const std::string& why) {
                  // The modem's own timer stops too, so what waits to be sent is not failed
                  // one by one while nobody listens; the start-up dialogue after the reopen
                  // picks the queue up again.
                  if (timer_ != 0) loop_.cancel(timer_);
                  timer_ = 0;
                  report("modem-lost", why);
                }}) {}

ModemCarrier::~ModemCarrier() {
  if (timer_ != 0) loop_.cancel(timer_);
}

void ModemCarrier::send(const sms::ShortMessage& m) {
  if (auto ok = modem_.send(m, loop_.now()); !ok) {
    ++counters_.send_failures;
    report("sms-send-failed", ok.error().reason);
  }
  // Only out: a send may come from inside the receiver (an answer), which must not be
  // handed the next message before it returns.
  pump(false);
}

void ModemCarrier::report(const std::string& event, const std::string& detail) {
  if (reporter_) reporter_(event, detail);
}

// Moves what the modem produced: bytes to the device, events to the log and, with
// `deliver`, received messages up.
void ModemCarrier::pump(bool deliver) {
  line_.write(modem_.take_output());
  while (auto e = modem_.poll_event()) {
    using Kind = sms::AtModemEvent::Kind;
    switch (e->kind) {
      case Kind::kReady:
        report("modem-ready", options_.device);
        break;
      case Kind::kSent:
        ++counters_.sent;
        break;
      case Kind::kSendFailed:
        ++counters_.send_failures;
        report("sms-send-failed", e->detail);
        break;
      case Kind::kMalformed:
        ++counters_.malformed;
        report("sms-malformed", e->detail);
        break;
      case Kind::kRestarting:
        report("modem-restarting", e->detail);
        break;
    }
  }
  while (deliver) {
    auto m = modem_.poll_received();
    if (!m) break;
    ++counters_.received;
    if (receiver_) receiver_(std::move(*m));
  }
  if (timer_ != 0) loop_.cancel(timer_);
  timer_ = 0;
  if (!line_.is_open()) return;  // no device: the modem's dialogue waits for the reopen
  if (auto next = modem_.next_deadline()) {
    timer_ = loop_.schedule(*next, [this] {
      timer_ = 0;
      modem_.on_timer(loop_.now());
      pump(true);
    });
  }
}

}  // namespace tether::transport
