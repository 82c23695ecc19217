#pragma once
// What carries CoAP messages as non-IP data (Transport TS Appendix D): on the server side an
// SCEF's T8 API (ScefClient, D.3), on the client side an NB-IoT or LTE-M modem's TS 27.007
// commands (NiddModemLink). Each takes one packet at a time and reports what became of it;
// CoAP is the NiddTransport's.
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/bytes.hpp"
#include "nidd/nidd_modem.hpp"

namespace tether::transport {

struct NiddPacket {
  std::string ue;  // the UE as nidd::UeId::key() (server side); "" on the device itself
  Bytes data;
  // D.4: what the network may expect after this uplink (the device side uses it).
  nidd::ReleaseAssistance rai = nidd::ReleaseAssistance::kNone;
};

class NiddCarrier {
 public:
  enum class Outcome : std::uint8_t {
    kDelivered,  // sent (device), or delivered to the UE (SCEF)
    kBuffered,   // D.6: the network holds it until the UE is reachable; a final one follows
    kFailed,
  };
  using Receiver = std::function<void(const std::string& ue, Bytes data)>;
  // What became of packet `handle`; never called from within send(). After kBuffered, one
  // more report says kDelivered or kFailed.
  using Reporter = std::function<void(std::uint64_t handle, Outcome outcome)>;
  // Problems no peer hears about: an SCEF away, a malformed callback, a modem restarting.
  using Problem = std::function<void(const std::string& event, const std::string& detail)>;

  virtual ~NiddCarrier() = default;
  virtual std::uint64_t send(const NiddPacket& packet) = 0;
  virtual void set_receiver(Receiver r) = 0;
  virtual void set_reporter(Reporter r) = 0;
  virtual void set_problem_handler(Problem p) = 0;
  // The largest packet to or from this UE (D.4: no segmentation below CoAP).
  virtual std::size_t max_packet(const std::string& ue) const = 0;
  virtual std::vector<std::pair<std::string, std::uint64_t>> counters() const = 0;
  virtual std::string describe() const = 0;
};

}  // namespace tether::transport
