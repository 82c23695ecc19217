#include "client/link/http_client_link.hpp"

#include <stdexcept>

#include "binding/http/device_mapping.hpp"
#include "binding/http/uplink_mapping.hpp"
#include "client/security_credentials.hpp"
#include "common/text.hpp"

namespace tether::client {

namespace {
namespace hb = binding::http_binding;

// A server's request as our HTTP server took it; answered once.
class HttpDeviceRequest final : public DeviceRequest {
 public:
  HttpDeviceRequest(Route from, const http::Request& request, std::string alternate_path,
                    HttpClientLink::Respond respond)
      : from_(from),
        request_(request),
        alternate_path_(std::move(alternate_path)),
        respond_(std::move(respond)) {}
  Route from() const override { return from_; }
  std::string summary() const override {
    return printable(request_.method, 16) + " " + printable(request_.target, 80);
  }
  Result<lwm2m::DownlinkRequest> decode(bool from_bootstrap,
                                        const lwm2m::model::Model& model) const override {
    return hb::decode_device_request(request_, from_bootstrap, alternate_path_, model);
  }
  std::optional<ObservationHandle> answer(const lwm2m::EncodedAnswer& a, bool, Instant) override {
    if (!respond_) return std::nullopt;
    auto respond = std::move(respond_);
    respond_ = nullptr;
    respond(hb::encode_device_response(a, alternate_path_));
    return std::nullopt;  // 7.1.4: no observations over HTTP
  }

 private:
  Route from_;
  const http::Request& request_;
  std::string alternate_path_;
  HttpClientLink::Respond respond_;
};

// "https://lwm2m.example:5690/anything" -> "https://lwm2m.example:5690" and its host.
Result<std::pair<std::string, std::string>> origin_of(const std::string& uri) {
  const auto scheme = uri.find("://");
  if (scheme == std::string::npos) return fail("bad server URI \"" + printable(uri, 80) + "\"");
  const auto path = uri.find_first_of("/?#", scheme + 3);
  std::string origin = uri.substr(0, path);
  if (auto ok = hb::check_origin(origin); !ok) return fail(uri + ": " + ok.error().reason);
  std::string host = origin.substr(scheme + 3);
  if (!host.empty() && host.front() == '[') {
    host = host.substr(1, host.find(']') - 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  return std::pair{std::move(origin), std::move(host)};
}

// The requests that name us by our origin: Register, Update and Bootstrap-Request (after
// which a server sends us its own), and Send, which has no location to name us by.
bool announces(const lwm2m::Uplink& u) {
  return std::holds_alternative<lwm2m::RegisterRequest>(u) ||
         std::holds_alternative<lwm2m::UpdateRequest>(u) ||
         std::holds_alternative<lwm2m::BootstrapRequest>(u) ||
         std::holds_alternative<lwm2m::SendRequest>(u);
}

}  // namespace

HttpClientLink::HttpClientLink(HttpClientLinkConfig config, Send send, const DataModel& data)
    : config_(std::move(config)), send_(std::move(send)), data_(data) {
  if (!config_.device_origin.empty()) {
    if (auto ok = hb::check_origin(config_.device_origin); !ok) {
      throw std::invalid_argument("device origin " + config_.device_origin + ": " +
                                  ok.error().reason);
    }
  }
}

Result<Route> HttpClientLink::route(const std::string& uri, std::optional<std::uint16_t> security,
                                    const std::string& alternative, bool bootstrap) {
  (void)alternative;  // HTTP has no Release
  (void)bootstrap;
  auto origin = origin_of(uri);
  if (!origin) return origin.error();
  for (auto& [id, p] : peers_) {
    if (p.origin == origin->first) {
      p.security = security;
      return Route{this, id};
    }
  }
  const std::uint64_t id = peers_.empty() ? 1 : peers_.rbegin()->first + 1;
  peers_[id] = Peer{origin->first, origin->second, security, std::nullopt};
  return Route{this, id};
}

bool HttpClientLink::secured(const Route& route) const {
  auto it = peers_.find(route.peer);
  return it != peers_.end() && it->second.origin.starts_with("https://");
}

tls::ClientCredentials HttpClientLink::credentials_for(const Peer& peer) const {
  // Seed 004: the server proves itself with a certificate that chains to the Security
  // instance's Server Public Key (a CA), else to our configured anchors or the system's.
  tls::ClientCredentials c;
  if (peer.security) {
    auto mode = data_.value(lwm2m::Path{oid::kSecurity, *peer.security, security::kMode});
    auto number = mode ? mode->as_number() : std::nullopt;
    if (number && static_cast<std::int64_t>(*number) == security::kModeCertificate) {
      if (auto from = credentials_from_security(data_, *peer.security, peer.host)) c = *from;
      if (!c.server_public_key.empty()) c.trust_anchors = {c.server_public_key};
    }
  }
  c.mode = tls::Mode::kCertificate;
  c.pkix = true;
  c.server_name = peer.host;
  if (c.trust_anchors.empty()) c.trust_anchors = config_.trust_anchors;
  return c;
}

http::DigestClient* HttpClientLink::digest_for(Peer& peer) {
  if (!peer.security) return nullptr;
  auto mode = data_.value(lwm2m::Path{oid::kSecurity, *peer.security, security::kMode});
  auto number = mode ? mode->as_number() : std::nullopt;
  auto bytes_of = [&](std::uint16_t resource) -> std::string {
    auto v = data_.value(lwm2m::Path{oid::kSecurity, *peer.security, resource});
    if (!v) return {};
    if (const auto* b = v->get_if<Bytes>()) return to_string(*b);
    if (const auto* t = v->get_if<std::string>()) return *t;
    return {};
  };
  if (!number || static_cast<std::int64_t>(*number) != security::kModePsk) {
    peer.digest.reset();
    return nullptr;
  }
  std::string username = bytes_of(security::kPublicKeyOrIdentity);
  std::string password = bytes_of(security::kSecretKey);
  if (!peer.digest || !peer.digest->same_credentials(username, password)) {
    auto made = http::DigestClient::make(std::move(username), std::move(password));
    if (!made) {
      peer.digest.reset();
      return nullptr;
    }
    peer.digest.emplace(std::move(*made));
  }
  return &*peer.digest;
}

void HttpClientLink::transmit(std::uint64_t peer, http::Request wire, Transmitted done,
                              bool retried) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return done(fail("no such route"));
  if (auto* digest = digest_for(it->second)) digest->authorize(wire, random_);
  http::Request again = wire;
  send_(it->second.origin, std::move(wire), credentials_for(it->second),
        [this, alive = alive_, peer, again = std::move(again), done = std::move(done),
         retried](Result<http::Response> response) mutable {
          if (*alive && response && response->status == 401 && !retried) {
            auto p = peers_.find(peer);
            if (p != peers_.end() && p->second.digest &&
                p->second.digest->take_challenge(*response)) {
              return transmit(peer, std::move(again), std::move(done), true);
            }
          }
          done(std::move(response));
        });
}

void HttpClientLink::send(const Route& route, const lwm2m::Uplink& request, AnswerHandler done,
                          Instant now) {
  (void)now;
  if (peers_.find(route.peer) == peers_.end()) return done(fail("no such route"));
  last_peer_ = route.peer;
  http::Request wire = hb::encode_uplink(request);
  if (announces(request) && !config_.device_origin.empty()) {
    hb::announce_device_origin(wire, config_.device_origin);
  }
  transmit(
      route.peer, std::move(wire),
      [done = std::move(done), request](Result<http::Response> response) {
        if (!response) return done(response.error());
        done(hb::decode_uplink_answer(request, *response));
      },
      false);
}

Route HttpClientLink::route_for_request(const std::string& address) const {
  const auto colon = address.rfind(':');
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  const bool loopback = host == "127.0.0.1" || host == "::1";
  std::optional<std::uint64_t> match;
  for (const auto& [id, p] : peers_) {
    if (p.host != host && !(loopback && p.host == "localhost")) continue;
    // Several servers on one host: the one we spoke to last, if it is one of them.
    if (!match || id == last_peer_) match = id;
  }
  // A request from a host none of our servers lives on is no server's (peer 0).
  return Route{const_cast<HttpClientLink*>(this), match.value_or(0)};
}

void HttpClientLink::on_request(const http::Request& request, const std::string& address,
                                Respond respond, Instant now) {
  const Route from = route_for_request(address);
  HttpDeviceRequest r(from, request, data_.registration_payload().alternate_path,
                      std::move(respond));
  if (from.peer == 0) {
    // Until seed 004's authentication is wired, the sender's address is all we can check:
    // only the hosts of our servers may manage us.
    r.answer(lwm2m::EncodedAnswer{lwm2m::status::kForbidden, {}, {}, {}}, false, now);
    return;
  }
  if (!on_request_) {
    r.answer(lwm2m::EncodedAnswer{lwm2m::status::kServiceUnavailable, {}, {}, {}}, false, now);
    return;
  }
  on_request_(r);
}

}  // namespace tether::client
