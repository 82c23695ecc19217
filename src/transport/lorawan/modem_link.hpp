#pragma once
// The client's LoRaWAN modem on a serial device (a RAK3172's AT port, or the pseudo-terminal
// `tether lorawan-ns --modem` makes), driven by the sans-I/O lorawan::AtModem. The modem
// runs the LoRaWAN MAC; we hand it one frame at a time and learn the DevEUI and the data
// rate (so the frame size) from it.
#include <string>

#include "lorawan/at_modem.hpp"
#include "transport/event_loop.hpp"
#include "transport/lorawan/lorawan_carrier.hpp"
#include "transport/modem_driver.hpp"

namespace tether::transport {

class ModemLink final : public LorawanCarrier {
 public:
  // Throws std::runtime_error when the device cannot be opened (start-up configuration).
  ModemLink(EventLoop& loop, std::string device, lorawan::AtModemConfig config = {});

  std::uint64_t send(const LorawanFrame& frame) override;
  void set_receiver(Receiver r) override { receiver_ = std::move(r); }
  void set_reporter(Reporter r) override { reporter_ = std::move(r); }
  void set_problem_handler(Problem p) override { problem_ = std::move(p); }
  std::size_t max_payload(lorawan::DevEui) const override { return modem_.max_payload(); }
  std::optional<lorawan::DevEui> own_dev_eui() const override;
  std::vector<std::pair<std::string, std::uint64_t>> counters() const override {
    return driver_.counters();
  }
  std::string describe() const override { return "modem " + driver_.device(); }
  bool ready() const { return modem_.ready(); }

 private:
  void on_event(lorawan::AtModemEvent& e);
  void problem(const std::string& event, const std::string& detail);

  EventLoop& loop_;
  lorawan::AtModem modem_;
  Receiver receiver_;
  Reporter reporter_;
  Problem problem_;
  ModemDriver<lorawan::AtModem> driver_;  // last: it starts the dialogue as it opens
};

}  // namespace tether::transport
