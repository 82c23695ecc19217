#include "client/link/coap_client_link.hpp"

#include <variant>

#include "binding/coap/bootstrap_mapping.hpp"
#include "binding/coap/device_mapping.hpp"
#include "binding/coap/lorawan_registration.hpp"
#include "binding/coap/uplink_mapping.hpp"
#include "client/security_credentials.hpp"
#include "common/text.hpp"
#include "lorawan/frame.hpp"
#include "nidd/uri.hpp"
#include "sms/short_message.hpp"

namespace tether::client {

namespace {
namespace cb = binding::coap_binding;
using coap::Message;
namespace codes = coap::codes;

constexpr int kHandleShift = 48;

// Core TS 6.2.1.1 binding letters: U (UDP, DTLS), T (TCP, TLS), S (SMS), N (Non-IP: LoRaWAN,
// NIDD).
char letter_of(std::string_view scheme) {
  if (scheme == "sms") return 'S';
  if (scheme == "lorawan" || scheme == "nidd") return 'N';
  return scheme.ends_with("+tcp") ? 'T' : 'U';
}

std::string scheme_of(const coap::Uri& u) {
  return std::string(u.is_secure() ? "coaps" : "coap") + (u.is_stream() ? "+tcp" : "");
}

// The account's URI with its authority replaced by a Release's Alternative-Address; the
// (D)TLS name check keeps the URI's host.
std::optional<coap::Uri> alternative_uri(const std::string& uri, const std::string& authority) {
  auto parsed = coap::parse_uri(uri);
  if (!parsed || authority.empty() || authority.find_first_of("/?#@ ") != std::string::npos ||
      !tether::is_utf8(authority)) {
    return std::nullopt;
  }
  auto check = coap::parse_uri(scheme_of(*parsed) + "://" + authority);
  if (!check || check->port == 0) return std::nullopt;
  return std::move(*check);
}

Message encode(const lwm2m::Uplink& request) {
  return std::visit(
      [](const auto& r) -> Message {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, lwm2m::RegisterRequest>) {
          return cb::encode_register(r);
        } else if constexpr (std::is_same_v<T, lwm2m::UpdateRequest>) {
          return cb::encode_update(r);
        } else if constexpr (std::is_same_v<T, lwm2m::DeregisterRequest>) {
          return cb::encode_deregister(r);
        } else if constexpr (std::is_same_v<T, lwm2m::SendRequest>) {
          return cb::encode_send(r);
        } else if constexpr (std::is_same_v<T, lwm2m::BootstrapRequest>) {
          return cb::encode_bootstrap_request(r);
        } else {
          return cb::encode_bootstrap_pack_request(r);
        }
      },
      request);
}

// A server's CoAP request, answered on its endpoint.
class CoapDeviceRequest final : public DeviceRequest {
 public:
  // `from` is looked up when asked: the engine may first make the route a server-initiated
  // bootstrap comes on.
  CoapDeviceRequest(std::function<Route()> from, const Message& m, coap::Responder responder,
                    transport::Transport& t, std::size_t carrier, std::string sms_sender)
      : from_(std::move(from)),
        m_(m),
        responder_(responder),
        t_(t),
        carrier_(carrier),
        sms_sender_(std::move(sms_sender)) {}
  Route from() const override { return from_(); }
  std::string sms_sender() const override { return sms_sender_; }
  std::string summary() const override { return m_.code.describe() + " " + m_.path(); }
  Result<lwm2m::DownlinkRequest> decode(bool from_bootstrap,
                                        const lwm2m::model::Model& model) const override {
    return cb::decode_device_request(m_, from_bootstrap, model);
  }
  std::optional<ObservationHandle> answer(const lwm2m::EncodedAnswer& a, bool open_observation,
                                          Instant now) override {
    if (answered_) return std::nullopt;
    answered_ = true;
    Message response = cb::encode_device_response(a);
    response.token = m_.token;
    if (open_observation && a.code.is_success()) response.set_observe(0);
    auto id = responder_.respond(std::move(response), now);
    t_.flush();
    if (!id) return std::nullopt;
    return (static_cast<ObservationHandle>(carrier_ + 1) << kHandleShift) | *id;
  }

 private:
  std::function<Route()> from_;
  const Message& m_;
  coap::Responder responder_;
  transport::Transport& t_;
  std::size_t carrier_;
  std::string sms_sender_;
  bool answered_ = false;
};
}  // namespace

CoapClientLink::CoapClientLink(CoapLinkConfig config, Clock& clock, DataModel& data)
    : config_(std::move(config)), clock_(clock), data_(data) {}

CoapClientLink::~CoapClientLink() {
  for (auto& c : carriers_) {
    c->transport->endpoint().set_request_handler(nullptr);
    c->transport->endpoint().set_observation_ended_handler(nullptr);
    c->transport->endpoint().set_release_handler(nullptr);
    if (auto* layer = c->transport->secure_layer()) layer->set_event_handler(nullptr);
  }
}

ObservationHandle CoapClientLink::handle_of(const Carrier& c, coap::ObservationId id) {
  return (static_cast<ObservationHandle>(c.index + 1) << kHandleShift) | id;
}

void CoapClientLink::attach(transport::Transport& t, const std::string& scheme) {
  carriers_.push_back(std::make_unique<Carrier>(Carrier{&t, scheme, carriers_.size()}));
  Carrier* c = carriers_.back().get();
  if (auto* layer = t.secure_layer()) {
    layer->set_event_handler([this, c](const tls::SecureEvent& e) {
      if (e.kind != tls::SecureEvent::Kind::kEstablished || e.identity.resumed) return;
      if (!on_route_event_) return;
      RouteEvent event;
      event.kind = RouteEvent::Kind::kNewSecurityContext;
      for (std::size_t i = 0; i < peers_.size(); ++i) {
        if (peers_[i].carrier == c && peers_[i].peer == e.peer) {
          on_route_event_(Route{this, i + 1}, event);
        }
      }
    });
  }
  t.endpoint().set_request_handler(
      [this, c](coap::PeerId peer, const Message& m, coap::Responder responder) {
        on_request(*c, peer, m, responder);
      });
  t.endpoint().set_observation_ended_handler([this, c](coap::ObservationId id, coap::Failure) {
    if (on_observation_ended_) on_observation_ended_(handle_of(*c, id));
  });
  // RFC 8323 5.5: a server closing a CoAP/TCP or TLS connection in order says when and where
  // to come back.
  t.endpoint().set_release_handler([this, c](coap::PeerId peer, const coap::ReleaseAdvice& a) {
    if (!on_route_event_) return;
    RouteEvent event;
    event.kind = RouteEvent::Kind::kReleased;
    event.hold_off = a.hold_off;
    event.alternatives = a.alternative_addresses;
    for (std::size_t i = 0; i < peers_.size(); ++i) {
      if (peers_[i].carrier == c && peers_[i].peer == peer)
        on_route_event_(Route{this, i + 1}, event);
    }
  });
}

bool CoapClientLink::serves(std::string_view scheme) const {
  for (const auto& c : carriers_) {
    if (c->scheme == scheme) return true;
  }
  return false;
}

std::string CoapClientLink::binding_letters() const {
  std::string out;
  for (const auto& c : carriers_) out.push_back(letter_of(c->scheme));
  return out;
}

char CoapClientLink::binding_letter(const Route& route) const {
  const Peer* p = peer_of(route);
  return p != nullptr ? letter_of(p->carrier->scheme) : 'U';
}

Route CoapClientLink::route_of(Peer p) {
  for (std::size_t i = 0; i < peers_.size(); ++i) {
    if (peers_[i] == p) return Route{this, i + 1};
  }
  peers_.push_back(std::move(p));
  return Route{this, peers_.size()};
}

const CoapClientLink::Peer* CoapClientLink::peer_of(const Route& route) const {
  if (route.link != this || route.peer == 0 || route.peer > peers_.size()) return nullptr;
  return &peers_[route.peer - 1];
}

bool CoapClientLink::takes_alternative(const std::string& uri, const std::string& address) const {
  return alternative_uri(uri, address).has_value();
}

Result<Route> CoapClientLink::route_network(const std::string& uri, const std::string& scheme,
                                            std::uint16_t port,
                                            std::optional<std::uint16_t> security) {
  for (auto& c : carriers_) {
    if (c->scheme != scheme) continue;
    auto peer = c->transport->peer_for("", port);
    if (!peer) return fail(uri + ": " + peer.error().reason);
    const Peer p{c.get(), *peer, std::nullopt};
    if (auto ok = protect(p, scheme, security); !ok) return fail(uri + ": " + ok.error().reason);
    return route_of(p);
  }
  return fail("no " + scheme + " transport for " + uri);
}

Result<Route> CoapClientLink::route(const std::string& uri, std::optional<std::uint16_t> security,
                                    const std::string& alternative, bool bootstrap) {
  (void)bootstrap;  // the same CoAP peer serves either interface
  // Transport TS 6.8.3: an SMS server is its MSISDN, sms://+4915550000.
  if (auto number = sms::msisdn_of_uri(uri)) {
    for (auto& c : carriers_) {
      if (c->scheme != "sms") continue;
      auto peer = c->transport->peer_for(*number, 0);
      if (!peer) return fail(uri + ": " + peer.error().reason);
      const Peer p{c.get(), *peer, std::nullopt};
      // Transport TS 5.4.2.1: DTLS over SMS with the Security instance's credentials.
      if (c->transport->secure_layer() != nullptr) {
        if (!security) return fail(uri + ": no Security instance to secure it with");
        if (auto ok = secure(p, *number, *security, clock_.now()); !ok) {
          return fail(uri + ": " + ok.error().reason);
        }
      }
      if (auto ok = protect(p, "sms", security); !ok) return fail(uri + ": " + ok.error().reason);
      return route_of(p);
    }
    return fail("no sms transport for " + uri);
  }
  // Transport TS 6.8.4: a server behind a LoRaWAN network is its FPort, lorawan://2.
  if (auto port = lorawan::port_of_uri(uri)) return route_network(uri, "lorawan", *port, security);
  // Transport TS Appendix D.3: over NIDD the network routes to the one server, nidd://.
  if (nidd::is_nidd_uri(uri)) return route_network(uri, "nidd", 0, security);
  auto parsed = coap::parse_uri(uri);
  if (!parsed) return fail("bad server URI \"" + uri + "\": " + parsed.error().reason);
  // Where to connect: the URI's authority, or the one a Release named.
  auto target = *parsed;
  if (!alternative.empty()) {
    if (auto other = alternative_uri(uri, alternative)) target = std::move(*other);
  }
  // Through a forward proxy: our transport is the proxy's; (D)TLS ends at the proxy, so only
  // plain schemes go that way (OSCORE protects them end to end).
  std::optional<coap::Uri> proxied_to;
  std::string via = scheme_of(*parsed);
  if (!config_.proxy.empty() && !parsed->is_secure()) {
    auto proxy = coap::parse_uri(config_.proxy);
    if (!proxy || proxy->is_secure()) return fail("bad proxy URI \"" + config_.proxy + "\"");
    proxied_to = target;
    target = *proxy;
    via = coap::scheme_name(proxy->scheme);
  }
  for (auto& c : carriers_) {
    if (c->scheme != via) continue;
    auto peer = c->transport->peer_for(target.host, target.port);
    if (!peer) return peer.error();
    const Peer p{c.get(), *peer, proxied_to};
    if (parsed->is_secure()) {
      if (!security) return fail(uri + ": no Security instance to secure it with");
      if (auto ok = secure(p, parsed->host, *security, clock_.now()); !ok)
        return fail(uri + ": " + ok.error().reason);
    }
    if (auto ok = protect(p, via, security); !ok) return fail(uri + ": " + ok.error().reason);
    return route_of(p);
  }
  return fail("no " + via + " transport for " + uri);
}

Result<Ok> CoapClientLink::secure(const Peer& p, const std::string& host, std::uint16_t security,
                                  Instant now) {
  // Transport TS 5.2.9: the account's Security instance holds the credentials.
  auto* layer = p.carrier->transport->secure_layer();
  if (layer == nullptr) return fail("the transport has no (D)TLS layer");
  auto creds = credentials_from_security(data_, security, host);
  if (!creds) return creds.error();
  creds->trust_anchors = config_.trust_anchors;
  layer->set_credentials(p.peer, std::move(*creds), now);
  return Ok{};
}

// Transport TS 5.5.3: the OSCORE instance the account's Security instance links to; over
// any scheme, inside (D)TLS too.
Result<Ok> CoapClientLink::protect(const Peer& p, const std::string& scheme,
                                   std::optional<std::uint16_t> security) {
  // No account (a firmware download): the peer keeps whatever binding an account gave it.
  if (oscore_ == nullptr || !security) return Ok{};
  auto linked = oscore_from_security(data_, *security);
  if (!linked) return linked.error();
  std::optional<oscore::ContextInput> input = std::move(*linked);
  if (!input) {
    oscore_->unbind(scheme, p.peer);
    return Ok{};
  }
  const std::string name = "security/" + std::to_string(*security);
  // The same keys keep their context: its sequence number and replay window go on.
  if (const auto* current = oscore_->input_of(name); current == nullptr || !(*current == *input)) {
    if (auto ok = oscore_->put(name, *input); !ok) return fail("OSCORE: " + ok.error().reason);
  }
  oscore_->bind(scheme, p.peer, name);
  return Ok{};
}

bool CoapClientLink::secured(const Route& route) const {
  const Peer* p = peer_of(route);
  return p != nullptr && p->carrier->transport->secure_layer() != nullptr;
}

bool CoapClientLink::session_current(const Route& route, const std::string& uri,
                                     std::uint16_t security, Instant now) {
  const Peer* p = peer_of(route);
  if (p == nullptr) return false;
  auto* layer = p->carrier->transport->secure_layer();
  if (layer == nullptr) return true;
  auto parsed = coap::parse_uri(uri);
  const bool fresh = parsed && secure(*p, parsed->host, security, now);
  return fresh && layer->established(p->peer);
}

const tls::Failure* CoapClientLink::security_failure(const Route& route) const {
  const Peer* p = peer_of(route);
  auto* layer = p != nullptr ? p->carrier->transport->secure_layer() : nullptr;
  return layer != nullptr ? layer->last_failure(p->peer) : nullptr;
}

bool CoapClientLink::handshaking(const Route& route) const {
  const Peer* p = peer_of(route);
  auto* layer = p != nullptr ? p->carrier->transport->secure_layer() : nullptr;
  return layer != nullptr && layer->handshaking(p->peer);
}

void CoapClientLink::reset_security(const Route& route, Instant now) {
  const Peer* p = peer_of(route);
  auto* layer = p != nullptr ? p->carrier->transport->secure_layer() : nullptr;
  if (layer == nullptr) return;
  layer->reset(p->peer, now);
  p->carrier->transport->flush();
}

void CoapClientLink::request(const Peer& p, Message m, std::function<void(Result<Message>)> done,
                             Instant now) {
  if (p.proxied_to) coap::set_proxy_target(m, *p.proxied_to);
  p.carrier->transport->endpoint().request(p.peer, std::move(m), std::move(done), now);
  p.carrier->transport->flush();
}

void CoapClientLink::send(const Route& route, const lwm2m::Uplink& uplink, AnswerHandler done,
                          Instant now) {
  const Peer* p = peer_of(route);
  if (p == nullptr) return done(fail("no route"));
  Message message = encode(uplink);
  const auto* reg = std::get_if<lwm2m::RegisterRequest>(&uplink);
  if (reg != nullptr && p->carrier->scheme == "lorawan") {
    // Transport TS 6.8.4: every octet counts; leave out what the server knows.
    auto compact = *reg;
    cb::compact_lorawan_register(compact, p->carrier->transport->link_identity());
    message = cb::encode_register(compact);
  }
  request(
      *p, std::move(message),
      [done = std::move(done)](Result<Message> m) {
        if (!m) return done(m.error());
        done(cb::decode_uplink_answer(*m));
      },
      now);
}

bool CoapClientLink::notify(ObservationHandle observation, const lwm2m::EncodedAnswer& content,
                            bool confirmable, Instant now) {
  const std::size_t index = static_cast<std::size_t>(observation >> kHandleShift);
  if (index == 0 || index > carriers_.size()) return false;
  transport::Transport* t = carriers_[index - 1]->transport;
  const coap::ObservationId id = observation & ((ObservationHandle{1} << kHandleShift) - 1);
  const bool ok = t->endpoint().notify(
      id, cb::encode_device_response(content),
      confirmable ? coap::Type::kConfirmable : coap::Type::kNonConfirmable, now);
  t->flush();
  return ok;
}

void CoapClientLink::on_request(Carrier& c, coap::PeerId peer, const Message& m,
                                coap::Responder responder) {
  // A server's requests come from where we send ours: the route to that peer names it. A
  // stranger has none (Route::peer 0), and gets none made for it.
  auto from = [this, &c, peer] {
    for (std::size_t i = 0; i < peers_.size(); ++i) {
      if (peers_[i].carrier == &c && peers_[i].peer == peer && !peers_[i].proxied_to) {
        return Route{this, i + 1};
      }
    }
    return Route{this, 0};
  };
  // An SMS peer is described as "sms:" and its MSISDN (transport/sms).
  std::string sms_sender;
  if (c.scheme == "sms") {
    sms_sender = c.transport->describe(peer);
    if (sms_sender.rfind("sms:", 0) == 0) sms_sender.erase(0, 4);
  }
  CoapDeviceRequest request(from, m, responder, *c.transport, c.index, std::move(sms_sender));
  if (on_request_) on_request_(request);
}

void CoapClientLink::fetch(const std::string& uri, std::function<void(Result<Bytes>)> done,
                           Instant now) {
  auto parsed = coap::parse_uri(uri);
  if (!parsed) return done(fail("invalid URI: " + parsed.error().reason));
  // A coaps server that is not an LwM2M server (here a firmware server) has its own
  // Security instance, found by its URI.
  std::optional<std::uint16_t> security;
  if (parsed->is_secure()) {
    security = data_.security_instance_for(uri);
    if (!security) return done(fail("unsupported protocol: no Security instance for " + uri));
  }
  auto r = route(uri, security, {}, false);
  if (!r) return done(fail("unsupported protocol: " + r.error().reason));
  Message get = coap::make_request(codes::kGet, "/");
  get.options.remove(coap::option::kUriPath);
  parsed->apply_to(get);
  request(
      *peer_of(*r), std::move(get),
      [done = std::move(done)](Result<Message> m) {
        if (!m) return done(fail("no answer: " + m.error().reason));
        if (m->code == codes::kNotFound) return done(fail("invalid URI: nothing there (4.04)"));
        if (m->code != codes::kContent) return done(fail("answered " + m->code.describe()));
        done(std::move(m->payload));
      },
      now);
}

}  // namespace tether::client
