#include "sms_service.hpp"

#include <map>
#include <sstream>
#include <stdexcept>

#include "binding/coap/sms_trigger.hpp"
#include "common/clock.hpp"
#include "common/logfmt.hpp"
#include "common/text.hpp"
#include "oscore/oscore_layer.hpp"
#include "service_runtime.hpp"
#include "sms/secured_packet_peers.hpp"
#include "tls/gnutls/gnutls_backend.hpp"

namespace tether::app {

transport::SecureOptions sms_dtls(std::unique_ptr<tls::Backend>& backend, tls::Role role,
                                  std::optional<tls::ServerCredentials> lookup) {
  tls::GnutlsOptions g;
  // An SMS takes seconds to arrive: wait longer before repeating a flight, and longer for
  // the whole handshake, than over UDP.
  g.retransmit = Duration{10'000};
  g.handshake_timeout = Duration{300'000};
  // A 360-octet ticket is 3 SMS in the last flight; a resumption over SMS saves less.
  g.session_tickets = false;
  g.server = std::move(lookup);
  backend = std::make_unique<tls::GnutlsBackend>(std::move(g));
  transport::SecureOptions secure;
  secure.backend = backend.get();
  secure.layer.role = role;
  return secure;
}

const char* const kSmsGatewayHelp =
    "  --sms-gateway URL      serve CoAP over SMS (Transport TS 6.8.3) through Kannel:\n"
    "                         smsbox's http://USER@HOST:PORT/cgi-bin/sendsms (docs/sms.md)\n"
    "  --sms-gateway-password-file FILE  its send-sms password\n"
    "  --sms-number MSISDN    our own number, the sender of what we send\n"
    "  --sms-callback-host H, --sms-callback-port N  where smsbox's get-url delivers\n"
    "                         devices' SMS (127.0.0.1:13080; path /sms)\n"
    "  --sms-callback-token-file FILE  a token smsbox's get-url must carry as token=...;\n"
    "                         needed when the callback host is not loopback\n"
    "  --sms-smsc ID          route our SMS through this smsc-id of Kannel's\n"
    "  --sms-auto-wake        a request queued for a sleeping client with S in its binding\n"
    "                         wakes it by SMS (Transport TS 6.6), as POST .../wake does;\n"
    "                         the SMS goes to the registered sms=: authenticate clients\n"
    "  --sms-security M       nosec (default; OSCORE may protect it), dtls: DTLS over SMS\n"
    "                         with the endpoints' PSK credentials (Transport TS 5.4.2.1),\n"
    "                         or smartcard: Secured Packets (31.115) with --sms-keys-file\n"
    "  --sms-keys-file FILE   smartcard: \"MSISDN KEY_PARAMS_HEX SECRET_KEYS_HEX\" per line,\n"
    "                         the devices' /0/x/7 and /0/x/8 (Transport TS 5.4.2.1.3)\n";

namespace {
// --sms-keys-file: the SMS binding keys per device number.
std::map<std::string, sms::SecuredPacketKeys> read_sms_keys(const std::string& file) {
  if (file.empty()) throw std::invalid_argument("--sms-security smartcard needs --sms-keys-file");
  std::map<std::string, sms::SecuredPacketKeys> out;
  std::istringstream lines(to_string(read_binary_file(file)));
  std::string line;
  for (int n = 1; std::getline(lines, line); ++n) {
    if (const auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    std::istringstream fields(line);
    std::string number, params, secret, extra;
    if (!(fields >> number)) continue;
    const std::string where = file + ":" + std::to_string(n) + ": ";
    if (!(fields >> params >> secret) || (fields >> extra)) {
      throw std::invalid_argument(where + "want MSISDN KEY_PARAMS_HEX SECRET_KEYS_HEX");
    }
    if (!sms::is_msisdn(number)) throw std::invalid_argument(where + "not an MSISDN");
    auto p = from_hex(params);
    auto k = from_hex(secret);
    if (!p || !k) throw std::invalid_argument(where + "keys are hex");
    auto keys = sms::parse_sms_binding_keys(*p, *k);
    if (!keys) throw std::invalid_argument(where + keys.error().reason);
    if (!out.emplace(std::string(sms::msisdn_digits(number)), std::move(*keys)).second) {
      throw std::invalid_argument(where + "a second line for the same number");
    }
  }
  if (out.empty()) throw std::invalid_argument(file + " holds no keys");
  return out;
}

std::string with_password(std::string url, const std::string& file) {
  if (file.empty()) return url;
  const std::string password = read_secret_file(file, "password");
  const auto at = url.find('@');
  const auto scheme_end = url.find("://");
  if (at == std::string::npos || scheme_end == std::string::npos || at < scheme_end) {
    throw std::invalid_argument("--sms-gateway-password-file needs a user in --sms-gateway");
  }
  if (url.substr(scheme_end + 3, at - scheme_end - 3).find(':') != std::string::npos) {
    throw std::invalid_argument("--sms-gateway already holds a password");
  }
  return url.insert(at, ":" + percent_encode(password));
}
}  // namespace

SmsService::SmsService(transport::EventLoop& loop, Random& random, const SmsGatewayOptions& o,
                       oscore::Keyring& keyring, const tls::ServerCredentials& lookup)
    : loop_(loop) {
  if (!sms::is_msisdn(o.number)) {
    throw std::invalid_argument("--sms-number must be our MSISDN (\"+\" and digits)");
  }
  transport::KannelOptions k;
  k.sendsms_url = with_password(o.gateway, o.password_file);
  k.callback_host = o.callback_host;
  k.callback_port = o.callback_port;
  k.smsc_id = o.smsc_id;
  if (!o.callback_token_file.empty()) {
    k.callback_token = read_secret_file(o.callback_token_file, "token");
  }
  if (!is_loopback_host(o.callback_host) && k.callback_token.empty()) {
    // Anyone who reaches the callback could speak for any phone number.
    throw std::invalid_argument("--sms-callback-host " + o.callback_host +
                                " is not loopback: give --sms-callback-token-file");
  }
  gateway_ = std::make_unique<transport::KannelGateway>(loop, k);
  gateway_->set_reporter([](const std::string& event, const std::string& detail) {
    log_line("event=" + event + logfmt_field("transport", "sms") + logfmt_field("detail", detail),
             "warn");
  });
  transport::SmsOptions s;
  s.own_number = o.number;
  if (o.security == "dtls") {
    s.secure = sms_dtls(dtls_, tls::Role::kServer, lookup);
  } else if (o.security == "smartcard") {
    keys_ = std::make_shared<const std::map<std::string, sms::SecuredPacketKeys>>(
        read_sms_keys(o.keys_file));
    s.packets = std::make_shared<sms::SecuredPacketPeers>(
        [keys = keys_](const std::string& number) -> std::optional<sms::SecuredPacketKeys> {
          auto it = keys->find(std::string(sms::msisdn_digits(number)));
          if (it == keys->end()) return std::nullopt;
          return it->second;
        },
        [] { return static_cast<std::uint64_t>(SystemClock{}.unix_now()); });
  } else if (o.security != "nosec") {
    throw std::invalid_argument("--sms-security takes nosec, dtls or smartcard");
  }
  coap::EndpointConfig c;
  // Transport TS 5.4.1: NoSec over SMS may be protected by OSCORE.
  c.decorator = std::make_shared<oscore::OscoreDecorator>(keyring.peers("sms"));
  transport_ = std::make_unique<transport::SmsTransport>(loop, c, random, *gateway_, s);
  if (auto* layer = transport_->secure_layer()) {
    // A handshake that fails says why, as over UDP.
    layer->set_event_handler([this](const tls::SecureEvent& e) {
      if (e.kind != tls::SecureEvent::Kind::kFailed) return;
      log_line(std::string("event=handshake-failed") + logfmt_field("transport", "sms") +
                   logfmt_field("addr", transport_->describe(e.peer)) +
                   logfmt_field("detail", e.failure.describe()),
               "warn");
    });
  }
}

Result<std::string> SmsService::wake_target(const server::Registration& r) {
  if (!r.sms) return fail("the client gave no SMS number (sms=) when it registered");
  // Core TS 6.2.1.1: only a client whose binding lists S hears SMS.
  if (r.binding.find('S') == std::string::npos) {
    return fail("the client's binding " + r.binding + " has no S: it does not hear SMS");
  }
  if (!binding::coap_binding::registered_server_instance(*r.objects)) {
    return fail("the registration lists no single Server object instance (/1/x)");
  }
  return *r.sms;
}

Result<std::string> SmsService::wake(const server::Registration& r, bool bootstrap) {
  if (auto target = wake_target(r); !target) return target.error();
  const auto instance = binding::coap_binding::registered_server_instance(*r.objects);
  auto peer = transport_->peer_for(*r.sms, 0);
  if (!peer) return peer.error();
  // Secured Packets: without keys for the number nothing could go out.
  if (keys_ && !keys_->contains(std::string(sms::msisdn_digits(*r.sms)))) {
    return fail("no SMS binding keys for " + *r.sms + " in --sms-keys-file");
  }
  // A DTLS server cannot open a session: the client must have one with us already.
  if (const auto* layer = transport_->secure_layer(); layer && !layer->established(*peer)) {
    return fail("DTLS over SMS: the client has no session with us to carry a trigger");
  }
  // No answer comes (Transport TS 6.6): the exchange is let go after a second.
  coap::RequestOptions options;
  options.timeout = Duration{1000};
  transport_->endpoint().request(
      *peer,
      binding::coap_binding::sms_trigger(
          *instance, bootstrap ? binding::coap_binding::Trigger::kBootstrapRequest
                               : binding::coap_binding::Trigger::kRegistrationUpdate),
      [](Result<coap::Message>) {}, loop_.now(), options);
  transport_->flush();
  log_line("event=sms-trigger" + logfmt_field("ep", r.endpoint) + logfmt_field("to", *r.sms) +
           logfmt_field("trigger", bootstrap ? "bootstrap" : "update"));
  return "sms:" + *r.sms;
}

void SmsService::start() {
  if (auto ok = gateway_->start(); !ok) {
    throw std::invalid_argument("--sms-callback-port: " + ok.error().reason);
  }
}

std::string SmsService::describe() const {
  return " sms=" + transport_->own_number() + logfmt_field("sms_gateway", gateway_->describe());
}

}  // namespace tether::app
