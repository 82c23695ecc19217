#pragma once
// The client's ClientLink over the CoAP transports it was given (Transport TS 6: coap, coaps,
// coap+tcp, coaps+tcp, each with its OSCORE layer), with a forward proxy when configured: the
// CoAP binding's client-side mappings on top of the transports' endpoints, and the (D)TLS
// credentials and OSCORE contexts each route needs from the Security object.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/client_link.hpp"
#include "client/data_model.hpp"
#include "coap/uri.hpp"
#include "common/clock.hpp"
#include "oscore/keyring.hpp"
#include "transport/transport.hpp"

namespace tether::client {

struct CoapLinkConfig {
  // Transport TS 5.2.9.7: PKIX trust anchors for certificate usages 0 and 1.
  std::vector<Bytes> trust_anchors;
  // A forward proxy (coap:// or coap+tcp://) for plain coap and coap+tcp servers.
  std::string proxy;
};

class CoapClientLink final : public ClientLink {
 public:
  CoapClientLink(CoapLinkConfig config, Clock& clock, DataModel& data);
  ~CoapClientLink() override;
  CoapClientLink(const CoapClientLink&) = delete;
  CoapClientLink& operator=(const CoapClientLink&) = delete;

  // Servers under URIs of `scheme` are reached through `transport`.
  void attach(transport::Transport& transport, const std::string& scheme);
  void use_oscore(oscore::Keyring* keyring) { oscore_ = keyring; }

  bool serves(std::string_view scheme) const override;
  std::string binding_letters() const override;
  char binding_letter(const Route& route) const override;
  Result<Route> route(const std::string& uri, std::optional<std::uint16_t> security,
                      const std::string& alternative, bool bootstrap) override;
  bool takes_alternative(const std::string& uri, const std::string& address) const override;
  void send(const Route& route, const lwm2m::Uplink& request, AnswerHandler done,
            Instant now) override;
  bool notify(ObservationHandle observation, const lwm2m::EncodedAnswer& content, bool confirmable,
              Instant now) override;
  void set_request_handler(std::function<void(DeviceRequest&)> handler) override {
    on_request_ = std::move(handler);
  }
  void set_observation_ended_handler(std::function<void(ObservationHandle)> handler) override {
    on_observation_ended_ = std::move(handler);
  }
  void set_route_event_handler(
      std::function<void(const Route&, const RouteEvent&)> handler) override {
    on_route_event_ = std::move(handler);
  }
  bool secured(const Route& route) const override;
  bool session_current(const Route& route, const std::string& uri, std::uint16_t security,
                       Instant now) override;
  const tls::Failure* security_failure(const Route& route) const override;
  bool handshaking(const Route& route) const override;
  void reset_security(const Route& route, Instant now) override;
  void fetch(const std::string& uri, std::function<void(Result<Bytes>)> done, Instant now) override;

 private:
  struct Carrier {
    transport::Transport* transport;
    std::string scheme;
    std::size_t index;  // in carriers_, for observation handles
  };
  struct Peer {
    Carrier* carrier = nullptr;
    coap::PeerId peer = 0;
    std::optional<coap::Uri> proxied_to;  // the server, when `peer` is a forward proxy
    friend bool operator==(const Peer&, const Peer&) = default;
  };

  Route route_of(Peer p);
  // A server a link-layer network routes to (LoRaWAN's FPort, NIDD's one server).
  Result<Route> route_network(const std::string& uri, const std::string& scheme, std::uint16_t port,
                              std::optional<std::uint16_t> security);
  const Peer* peer_of(const Route& route) const;
  Result<Ok> secure(const Peer& p, const std::string& host, std::uint16_t security, Instant now);
  Result<Ok> protect(const Peer& p, const std::string& scheme,
                     std::optional<std::uint16_t> security);
  void request(const Peer& p, coap::Message m, std::function<void(Result<coap::Message>)> done,
               Instant now);
  void on_request(Carrier& c, coap::PeerId peer, const coap::Message& m, coap::Responder responder);
  static ObservationHandle handle_of(const Carrier& c, coap::ObservationId id);

  CoapLinkConfig config_;
  Clock& clock_;
  DataModel& data_;
  oscore::Keyring* oscore_ = nullptr;
  std::vector<std::unique_ptr<Carrier>> carriers_;
  std::vector<Peer> peers_;  // Route::peer is the index + 1
  std::function<void(DeviceRequest&)> on_request_;
  std::function<void(ObservationHandle)> on_observation_ended_;
  std::function<void(const Route&, const RouteEvent&)> on_route_event_;
};

}  // namespace tether::client
