#pragma once
// What carries short messages for CoAP over SMS: an SMS gateway on the server side
// (KannelGateway), a cellular modem on the client side (ModemCarrier). Each takes one short
// message at a time (at most 140 octets of user data) and hands up what it receives;
// concatenation and CoAP are the SmsTransport's.
#include <cstdint>
#include <functional>
#include <string>

#include "sms/short_message.hpp"

namespace tether::transport {

struct SmsCarrierCounters {
  std::uint64_t sent = 0;
  std::uint64_t send_failures = 0;  // the gateway or modem refused, or did not answer
  std::uint64_t received = 0;
  std::uint64_t malformed = 0;  // what arrived could not be read as an 8-bit SMS
  std::uint64_t refused = 0;    // a gateway callback without the configured token
};

class SmsCarrier {
 public:
  using Receiver = std::function<void(sms::ShortMessage)>;
  using Reporter = std::function<void(const std::string& event, const std::string& detail)>;
  virtual ~SmsCarrier() = default;
  virtual void send(const sms::ShortMessage& m) = 0;
  virtual void set_receiver(Receiver r) = 0;
  // Problems no peer hears about: a gateway that refuses, a modem that restarts.
  virtual void set_reporter(Reporter r) = 0;
  virtual const SmsCarrierCounters& counters() const = 0;
  virtual std::string describe() const = 0;
};

}  // namespace tether::transport
