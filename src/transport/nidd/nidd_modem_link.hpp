#pragma once
// The client's NB-IoT or LTE-M modem on a serial device (its AT port, or the pseudo-terminal
// `tether scef --ue` makes), driven by the sans-I/O nidd::NiddModem: non-IP data out with
// AT+CSODCP and its release assistance indication, in as +CRTDCP (TS 27.007).
#include <string>

#include "nidd/nidd_modem.hpp"
#include "transport/event_loop.hpp"
#include "transport/modem_driver.hpp"
#include "transport/nidd/nidd_carrier.hpp"

namespace tether::transport {

class NiddModemLink final : public NiddCarrier {
 public:
  // Throws std::runtime_error when the device cannot be opened (start-up configuration).
  NiddModemLink(EventLoop& loop, std::string device, nidd::NiddModemConfig config = {});

  std::uint64_t send(const NiddPacket& packet) override;
  void set_receiver(Receiver r) override { receiver_ = std::move(r); }
  void set_reporter(Reporter r) override { reporter_ = std::move(r); }
  void set_problem_handler(Problem p) override { problem_ = std::move(p); }
  std::size_t max_packet(const std::string&) const override { return modem_.max_packet(); }
  std::vector<std::pair<std::string, std::uint64_t>> counters() const override {
    return driver_.counters();
  }
  std::string describe() const override { return "modem " + driver_.device(); }
  bool ready() const { return modem_.ready(); }

 private:
  void on_event(nidd::NiddModemEvent& e);
  void problem(const std::string& event, const std::string& detail);

  EventLoop& loop_;
  nidd::NiddModem modem_;
  Receiver receiver_;
  Reporter reporter_;
  Problem problem_;
  ModemDriver<nidd::NiddModem> driver_;  // last: it starts the dialogue as it opens
};

}  // namespace tether::transport
