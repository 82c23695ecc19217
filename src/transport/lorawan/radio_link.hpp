#pragma once
// The client's direct link to our network-server simulator (`tether lorawan-ns
// --radio-port`): the device's LoRaWAN MAC runs here (lorawan::DeviceMac: duty cycle,
// receive windows, confirmed repeats), and its frames travel as the simulator's radio
// datagrams (lorawan/frame) over UDP on the loopback. A real device puts the same MAC in
// its modem instead.
#include <string>

#include "lorawan/device_mac.hpp"
#include "transport/event_loop.hpp"
#include "transport/lorawan/lorawan_carrier.hpp"
#include "transport/socket_address.hpp"

namespace tether::transport {

struct RadioLinkOptions {
  std::string host = "127.0.0.1";  // the simulator's radio port
  std::uint16_t port = 0;
  lorawan::DeviceMacConfig mac;
};

class RadioLink final : public LorawanCarrier {
 public:
  // Throws std::runtime_error when the socket cannot be made (start-up configuration).
  RadioLink(EventLoop& loop, RadioLinkOptions options);
  ~RadioLink() override;

  std::uint64_t send(const LorawanFrame& frame) override;
  void set_receiver(Receiver r) override { receiver_ = std::move(r); }
  void set_reporter(Reporter r) override { reporter_ = std::move(r); }
  void set_problem_handler(Problem p) override { problem_ = std::move(p); }
  std::size_t max_payload(lorawan::DevEui) const override { return mac_.max_payload(); }
  std::optional<lorawan::DevEui> own_dev_eui() const override { return options_.mac.dev_eui; }
  std::vector<std::pair<std::string, std::uint64_t>> counters() const override;
  std::string describe() const override;
  const lorawan::DeviceMac& mac() const { return mac_; }

 private:
  void on_io();
  void pump();
  void send_air();
  void rearm();

  EventLoop& loop_;
  RadioLinkOptions options_;
  lorawan::DeviceMac mac_;
  SocketAddress simulator_;
  int fd_ = -1;
  EventLoop::TimerId timer_ = 0;
  Instant armed_at_{};
  std::uint64_t refused_handle_ = std::uint64_t{1} << 63;
  std::uint64_t bad_datagrams_ = 0;
  std::uint64_t refused_ = 0;
  Receiver receiver_;
  Reporter reporter_;
  Problem problem_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace tether::transport
