#pragma once
// A ClientLink over HTTP (Transport TS 7): the client's requests (Register, Update,
// De-register, Send, Bootstrap-Request, Bootstrap-Pack-Request) as HTTP requests to
// http:// and https:// Server URIs, and the servers' requests, which reach the client's own
// HTTP server, handed up as DeviceRequests. Sans-I/O like the MQTT link: the owner carries
// requests out through `send` (an HTTP client) and feeds on_request what its HTTP server
// took. Section 7 has no observations: notify() carries nothing.
//
// Where our server answers is announced with Register, Update, Bootstrap-Request and Send
// (binding/http's Link rel="lwm2m-device"). Which server a request comes from: the one whose host
// sent it, the one we spoke to last among several on that host. A request from any other host is
// refused (403).
//
// Seed 004 5.2.1.2: a Security instance in PSK mode on an http(s) URI holds HTTP Digest
// credentials (Identity the username, Secret Key the password); the link answers a server's
// challenge with them and sends them with every request after it.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "client/client_link.hpp"
#include "client/data_model.hpp"
#include "common/random.hpp"
#include "http/digest_client.hpp"
#include "http/message.hpp"
#include "tls/credentials.hpp"

namespace tether::client {

struct HttpClientLinkConfig {
  // Our HTTP server's origin ("https://192.0.2.7:8443"), announced to servers; empty: none
  // (servers then use the address we speak from, with the port they are told).
  std::string device_origin;
  // https Server URIs whose Security instance names no trust anchor: certificates that chain
  // to these (PEM), else to the system's store.
  std::vector<Bytes> trust_anchors;
};

class HttpClientLink final : public ClientLink {
 public:
  using ResponseHandler = std::function<void(Result<http::Response>)>;
  using Send = std::function<void(const std::string& origin, http::Request request,
                                  const tls::ClientCredentials& credentials, ResponseHandler done)>;
  using Respond = std::function<void(http::Response)>;

  // Fails (std::invalid_argument) for a device origin that is not one.
  HttpClientLink(HttpClientLinkConfig config, Send send, const DataModel& data);

  // A request our HTTP server took, from `address` ("192.0.2.1:40000").
  void on_request(const http::Request& request, const std::string& address, Respond respond,
                  Instant now);

  bool serves(std::string_view scheme) const override {
    return scheme == "http" || scheme == "https";
  }
  std::string binding_letters() const override { return "H"; }
  char binding_letter(const Route&) const override { return 'H'; }
  Result<Route> route(const std::string& uri, std::optional<std::uint16_t> security,
                      const std::string& alternative, bool bootstrap) override;
  void send(const Route& route, const lwm2m::Uplink& request, AnswerHandler done,
            Instant now) override;
  // Transport TS 7.1.5: only Send reports information over HTTP.
  bool notify(ObservationHandle, const lwm2m::EncodedAnswer&, bool, Instant) override {
    return false;
  }
  void set_request_handler(std::function<void(DeviceRequest&)> handler) override {
    on_request_ = std::move(handler);
  }
  void set_observation_ended_handler(std::function<void(ObservationHandle)>) override {}
  void set_route_event_handler(std::function<void(const Route&, const RouteEvent&)>) override {}
  bool secured(const Route& route) const override;

 private:
  struct Peer {
    std::string origin;  // "https://lwm2m.example:5690"
    std::string host;
    std::optional<std::uint16_t> security;
    std::optional<http::DigestClient> digest;
  };
  tls::ClientCredentials credentials_for(const Peer& peer) const;
  // The peer's Digest state, made or replaced from its Security instance; null without one.
  http::DigestClient* digest_for(Peer& peer);
  using Transmitted = std::function<void(Result<http::Response>)>;
  // Sends `wire` to the peer; a 401 with a challenge we can answer sends it once more.
  void transmit(std::uint64_t peer, http::Request wire, Transmitted done, bool retried);
  Route route_for_request(const std::string& address) const;

  HttpClientLinkConfig config_;
  Send send_;
  const DataModel& data_;
  std::function<void(DeviceRequest&)> on_request_;
  std::map<std::uint64_t, Peer> peers_;
  std::uint64_t last_peer_ = 0;
  SystemRandom random_;  // Digest cnonces
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

 public:
  ~HttpClientLink() override { *alive_ = false; }
};

}  // namespace tether::client
