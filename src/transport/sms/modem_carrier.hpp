#pragma once
// The client's SMS carrier: a cellular modem on a serial device (a USB modem's AT port,
// /dev/ttyUSB2, or a pseudo-terminal in tests), driven by the sans-I/O sms::AtModem.
#include <memory>
#include <string>

#include "sms/at_modem.hpp"
#include "transport/event_loop.hpp"
#include "transport/serial_line.hpp"
#include "transport/sms/sms_carrier.hpp"

namespace tether::transport {

struct ModemOptions {
  std::string device;  // the serial device
  sms::AtModemConfig modem;
};

class ModemCarrier final : public SmsCarrier {
 public:
  // Opens the device (raw, 115200 baud) and starts the modem; throws std::runtime_error
  // when the device cannot be opened (start-up configuration). A device that goes away
  // later (unplugged, hung up) is closed and opened again every 5 s; what waits to be sent
  // stays queued in the meantime.
  ModemCarrier(EventLoop& loop, ModemOptions options);
  ~ModemCarrier() override;

  void send(const sms::ShortMessage& m) override;
  void set_receiver(Receiver r) override { receiver_ = std::move(r); }
  void set_reporter(Reporter r) override { reporter_ = std::move(r); }
  const SmsCarrierCounters& counters() const override { return counters_; }
  std::string describe() const override { return "modem " + options_.device; }
  bool ready() const { return modem_.ready(); }

 private:
  void pump(bool deliver);
  void report(const std::string& event, const std::string& detail);

  EventLoop& loop_;
  ModemOptions options_;
  sms::AtModem modem_;
  EventLoop::TimerId timer_ = 0;
  Receiver receiver_;
  Reporter reporter_;
  SmsCarrierCounters counters_;
  SerialLine line_;  // last: it starts the dialogue as it opens
};

}  // namespace tether::transport
