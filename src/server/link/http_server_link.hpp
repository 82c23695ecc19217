#pragma once
// A ServerLink over HTTP (Transport TS 7): the HTTP binding's mappings between the engine and
// HTTP/1.1 messages. Sans-I/O like the MQTT link: the owner feeds it each request its HTTP
// server took (on_request, with a way to answer it), and carries each downlink request to
// the device's own HTTP server through `send` (an http client), handing the response back.
//
// A device is known by the origin of its HTTP server: announced with Register, Update and
// Bootstrap-Request
// (binding/http's Link rel="lwm2m-device"), else the address its request came from with the
// configured device port. That origin is the PeerKey, the stored address and where
// downlinks go. What a request proves (seed 004) is its Digest username, its TLS client
// certificate's name, or what a trusted proxy's header says (http::InterfaceAuth).
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "http/interface_auth.hpp"
#include "http/message.hpp"
#include "lwm2m/model/object_definition.hpp"
#include "server/server_link.hpp"
#include "tls/credentials.hpp"

namespace tether::server {

struct HttpLinkConfig {
  std::string name = "http";  // stored with each registration ("http", "https")
  // Which uplinks this link serves: the Registration interface (/rd, /dp) or the Bootstrap
  // interface (/bs, /bspack); the others get 404.
  bool bootstrap = false;
  // Where a device that announced nothing is reached: scheme and port on the address its
  // request came from.
  std::string device_scheme = "http";
  std::uint16_t device_port = 8080;
  // Seed 004: how uplinks authenticate. By default anonymous requests pass (the endpoint's
  // credentials decide), and a Digest response or a client certificate proves a name.
  http::InterfaceAuthConfig auth = default_auth();
  Bytes nonce_secret;  // keys the Digest nonces; random at start-up

  static http::InterfaceAuthConfig default_auth() {
    http::InterfaceAuthConfig a;
    a.digest = a.certificate = true;
    return a;
  }
};

// Who sent a request, as the HTTP server saw it.
struct HttpRequestFrom {
  std::string address;  // "192.0.2.7:51234", "[::1]:4000"
  bool secure = false;
  tls::PeerIdentity tls;  // kind kNone: no client certificate
};

class HttpServerLink final : public ServerLink {
 public:
  using Respond = std::function<void(http::Response)>;
  using ResponseHandler = std::function<void(Result<http::Response>)>;
  // Carries a request to a device's origin ("https://192.0.2.7:8443"); the handler runs once.
  using Send =
      std::function<void(const std::string& origin, http::Request request, ResponseHandler done)>;

  HttpServerLink(HttpLinkConfig config, const lwm2m::model::Model& model, Send send);
  ~HttpServerLink() override;
  HttpServerLink(const HttpServerLink&) = delete;
  HttpServerLink& operator=(const HttpServerLink&) = delete;

  void on_request(const http::Request& request, const HttpRequestFrom& from, Respond respond,
                  Instant now);
  // The Digest password of an endpoint whose credentials are in mode digest (seed 004
  // 5.2.1.2: the endpoint name is the username); such an endpoint is challenged when it
  // registers or bootstraps without one.
  void set_digest_passwords(http::InterfaceAuth::PasswordOf password_of) {
    password_of_ = std::move(password_of);
  }

  const std::string& name() const override { return config_.name; }
  void set_uplink_handler(UplinkHandler handler) override { on_uplink_ = std::move(handler); }
  PeerIdentity identify(const PeerKey& peer) const override;
  std::string describe(const PeerKey& peer) const override { return peer.name; }
  Result<PeerKey> peer_at(const std::string& address, const std::string& endpoint) override;
  Result<Ok> can_carry(const lwm2m::DownlinkRequest& request,
                       const std::string& root) const override;
  Result<ExchangeId> request(const PeerKey& peer, const lwm2m::DownlinkRequest& request,
                             const std::string& root, AnswerHandler handler, Instant now) override;
  void forget(ExchangeId id, Instant now) override;
  // Transport TS 7.1.4: no observations over HTTP.
  void cancel_observation(ExchangeId id, const lwm2m::DownlinkRequest& observe,
                          const std::string& root, Instant now, AnswerHandler on_answer) override;
  Result<ExchangeId> adopt_observation(const PeerKey& peer, const lwm2m::DownlinkRequest& request,
                                       const std::string& root, ByteView token,
                                       AnswerHandler on_notify) override;
  Bytes token_of(ExchangeId) const override { return {}; }
  // Requests go out through `send` at once.
  void flush() override {}
  std::vector<std::pair<std::string, std::uint64_t>> counters() const override;

 private:
  // The origin a request's device answers on.
  Result<std::string> origin_of(const http::Request& request, const HttpRequestFrom& from) const;

  HttpLinkConfig config_;
  const lwm2m::model::Model& model_;
  Send send_;
  UplinkHandler on_uplink_;
  // Whether an anonymous request names an endpoint that must prove itself by Digest.
  bool needs_digest(const Result<lwm2m::Uplink>& decoded) const;

  // What the request being handled proved, for identify() during its handling.
  struct Current {
    std::string origin;
    http::Caller caller;
  };
  std::optional<Current> current_;
  http::InterfaceAuth auth_;
  http::InterfaceAuth::PasswordOf password_of_;
  // Downlinks in flight: their handlers, until answered or forgotten.
  std::map<ExchangeId, AnswerHandler> open_;
  ExchangeId next_id_ = 1;
  std::uint64_t unreachable_ = 0;      // downlinks that got no response
  std::uint64_t unauthenticated_ = 0;  // uplinks refused with 401 or 403
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace tether::server
