#pragma once
// What carries CoAP messages as LoRaWAN frames: on the server side a network server's
// application integration (ChirpstackIntegration, over MQTT), on the client side the
// device's own MAC (RadioLink, straight to our simulator). Each takes one frame at a time
// and reports what became of it; CoAP and Appendix C are the LorawanTransport's.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/bytes.hpp"
#include "lorawan/frame.hpp"

namespace tether::transport {

struct LorawanFrame {
  lorawan::DevEui dev_eui = 0;  // the device (server side); 0 on the device itself
  std::uint8_t f_port = 1;
  Bytes payload;
  bool confirmed = false;
};

class LorawanCarrier {
 public:
  // A frame's payload from a device (server side) or from the network (client side).
  using Receiver = std::function<void(const LorawanFrame& frame)>;
  // What became of frame `handle`: delivered (sent; or acknowledged when confirmed; on a
  // device: its receive windows are over) or not. Never called from within send().
  using Reporter = std::function<void(std::uint64_t handle, bool delivered)>;
  // Problems no peer hears about: a broker away, a malformed event.
  using Problem = std::function<void(const std::string& event, const std::string& detail)>;

  virtual ~LorawanCarrier() = default;
  // Hands a frame over; the handle names it in its report.
  virtual std::uint64_t send(const LorawanFrame& frame) = 0;
  virtual void set_receiver(Receiver r) = 0;
  virtual void set_reporter(Reporter r) = 0;
  virtual void set_problem_handler(Problem p) = 0;
  // The largest payload a frame to or from this device carries now (its data rate).
  virtual std::size_t max_payload(lorawan::DevEui dev) const = 0;
  // The device's own DevEUI, on the device side, once known.
  virtual std::optional<lorawan::DevEui> own_dev_eui() const { return std::nullopt; }
  // What the carrier counted, by name, for /metrics.
  virtual std::vector<std::pair<std::string, std::uint64_t>> counters() const = 0;
  virtual std::string describe() const = 0;
};

}  // namespace tether::transport
