#pragma once
// `--sms-gateway`: a server engine (the LwM2M server, the bootstrap server) serving CoAP over
// SMS (Transport TS 6.8.3) through a Kannel gateway as well. The SMS transport is attached
// like the UDP one, under the link name "sms"; the gateway's problems become warn lines.
#include <map>
#include <memory>
#include <string>

#include "common/random.hpp"
#include "option_table.hpp"
#include "oscore/keyring.hpp"
#include "server/registration.hpp"
#include "sms/secured_packet.hpp"
#include "tls/credentials.hpp"
#include "transport/event_loop.hpp"
#include "transport/sms/kannel_gateway.hpp"
#include "transport/sms/sms_transport.hpp"

namespace tether::app {

// The --sms-* lines of `tether server --help` and `tether bootstrap --help`.
extern const char* const kSmsGatewayHelp;

// DTLS over SMS (Transport TS 5.4.2.1, RFC 7925 Appendix A): a GnuTLS backend of its own
// (made into `backend`) with flight timers for SMS latencies; servers pass their lookup.
transport::SecureOptions sms_dtls(std::unique_ptr<tls::Backend>& backend, tls::Role role,
                                  std::optional<tls::ServerCredentials> lookup = std::nullopt);

class SmsService {
 public:
  // Throws std::invalid_argument for a bad URL, number or password file.
  // `lookup` is what DTLS over SMS asks the engine during handshakes (--sms-security dtls).
  SmsService(transport::EventLoop& loop, Random& random, const SmsGatewayOptions& o,
             oscore::Keyring& keyring, const tls::ServerCredentials& lookup);
  transport::SmsTransport& transport() { return *transport_; }
  // Transport TS 6.6: sends the client of `r` its Registration Update Trigger (or its
  // Bootstrap-Request Trigger) by SMS; returns "sms:" and its number, or why not.
  Result<std::string> wake(const server::Registration& r, bool bootstrap);
  // What wake() checks in the registration alone (an SMS number, binding S, one Server
  // instance): the number to wake, or why not. Any thread may ask (--workers).
  static Result<std::string> wake_target(const server::Registration& r);
  // Listens for the gateway's calls; throws std::invalid_argument when it cannot.
  void start();
  // "sms=+4915550000 via kannel http://... callback=127.0.0.1:13080" for the start-up line.
  std::string describe() const;

 private:
  transport::EventLoop& loop_;
  std::unique_ptr<transport::KannelGateway> gateway_;
  std::unique_ptr<tls::Backend> dtls_;  // before the transport that uses it
  // --sms-keys-file, by sms::msisdn_digits (smartcard mode only).
  std::shared_ptr<const std::map<std::string, sms::SecuredPacketKeys>> keys_;
  std::unique_ptr<transport::SmsTransport> transport_;
};

}  // namespace tether::app
