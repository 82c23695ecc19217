#pragma once
// CoAP over SMS (Transport TS 6.8.3): one CoAP endpoint whose peers are MSISDNs. A CoAP
// message goes as one 8-bit SMS, or as a concatenated SMS when longer (sms/concatenation
// says why not block-wise); parts come back together in any order, duplicates dropped.
// The endpoint runs the SMS transmission parameters (no retransmission).
//
// Transport TS 5.4: outside NoSec, an SMS from a number that is not the configured
// server's is dropped without a word; `accept` is that rule, asked before anything is read.
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "sms/concatenation.hpp"
#include "sms/secured_packet.hpp"
#include "transport/sms/sms_carrier.hpp"
#include "transport/transport.hpp"

namespace tether::transport {

struct SmsOptions {
  std::string own_number;  // our MSISDN: the sender of what we send
  // Whether an SMS from this number is heard at all. Unset: everyone (NoSec).
  std::function<bool(const std::string& from)> accept;
  sms::ReassemblyLimits reassembly;
  // Transport TS 5.4.2.1: SMS Secured mode with the device end-point, DTLS over SMS
  // (RFC 7925 Appendix A): a (D)TLS layer between the SMS and the endpoint, as over UDP.
  std::optional<SecureOptions> secure;
  // Transport TS 5.4.2.1.2-3: SMS Secured Packet Structure mode. Every CoAP message goes in
  // a command packet (class 2, TP-PID USIM data download); what does not open is dropped
  // without an answer.
  std::shared_ptr<sms::PacketProtection> packets;
};

struct SmsTransportCounters {
  std::uint64_t messages_in = 0;   // whole CoAP messages handed to the endpoint
  std::uint64_t messages_out = 0;  // CoAP messages sent (each one or more SMS)
  std::uint64_t ignored_sender = 0;
  std::uint64_t too_long = 0;  // a message of ours over 255 parts: not sent
  // Secured packet mode: what did not open, by why; what we had no keys to send.
  std::array<std::uint64_t, sms::kPacketFaults> packet_faults{};  // by sms::PacketFault
  std::uint64_t unsealed = 0;
};

// The SMS transmission parameters and a message size that concatenation carries.
coap::EndpointConfig sms_endpoint_config(coap::EndpointConfig base);

class SmsTransport final : public Transport {
 public:
  SmsTransport(EventLoop& loop, coap::EndpointConfig config, Random& random, SmsCarrier& carrier,
               SmsOptions options);
  ~SmsTransport() override;

  coap::Endpoint& endpoint() override { return endpoint_; }
  // `host` is the peer's MSISDN; there are no ports.
  Result<coap::PeerId> peer_for(const std::string& host, std::uint16_t port) override;
  std::string describe(coap::PeerId peer) const override;
  std::uint16_t local_port() const override { return 0; }
  void flush() override;
  tls::SecureLayer* secure_layer() override { return secure_.get(); }
  std::vector<std::pair<std::string, std::uint64_t>> counters() const override;

  // The MSISDN of a peer ("" when unknown).
  std::string number_of(coap::PeerId peer) const;
  const std::string& own_number() const { return options_.own_number; }
  const SmsTransportCounters& sms_counters() const { return counters_; }
  const sms::ReassemblyCounters& reassembly() const { return reassembler_.counters(); }
  SmsCarrier& carrier() { return carrier_; }

 private:
  coap::PeerId peer_id(const std::string& number);
  void on_short_message(sms::ShortMessage m);
  void rearm_reassembly();

  EventLoop& loop_;
  SmsCarrier& carrier_;
  SmsOptions options_;
  coap::Endpoint endpoint_;
  std::unique_ptr<tls::SecureLayer> secure_;
  // What the SMS side drives: the security layer when there is one, else the endpoint.
  coap::CarrierPort& port_;
  EndpointTimer timer_;
  sms::Reassembler reassembler_;
  EventLoop::TimerId reassembly_timer_ = 0;
  std::unordered_map<std::string, coap::PeerId> ids_;
  std::unordered_map<coap::PeerId, std::string> numbers_;
  coap::PeerId next_peer_ = 1;
  std::uint8_t next_reference_ = 0;
  SmsTransportCounters counters_;
};

}  // namespace tether::transport
