#pragma once
// The client's ClientLink over an MQTT broker (Transport TS 8): Register, Update, Send and the
// bootstrap requests as maps on the endpoint's own topics ([PREFIX/]lwm2m/rd/EP and .../bs/EP),
// the servers' requests from the same topics answered with the generic response, and
// notifications as Notify maps under their observation's token. Sans-I/O: the owner feeds
// it what the broker delivers and the time, and publishes what it hands to `publish`.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "binding/mqtt/cose_encrypt0.hpp"
#include "binding/mqtt/exchanges.hpp"
#include "binding/mqtt/topic.hpp"
#include "client/client_link.hpp"
#include "client/data_model.hpp"
#include "lwm2m/model/object_definition.hpp"

namespace tether::client {

struct MqttClientLinkConfig {
  bool tls = false;    // serves mqtts:// URIs (else mqtt://)
  std::string prefix;  // the tenant (8.2)
  std::string endpoint;
  Duration exchange_timeout{93'000};  // a request's wait for its answer (MAX_TRANSMIT_WAIT)
  std::uint64_t first_token = 1;
};

class MqttClientLink final : public ClientLink {
 public:
  // Fails (std::invalid_argument) for a prefix or endpoint name a topic cannot carry. With
  // `data`, a Security instance that links a COSE instance (/0/x/27, Transport TS 8.8) has
  // its maps sealed with that key, and takes only maps sealed with it.
  MqttClientLink(MqttClientLinkConfig config, binding::mqtt::Exchanges::Publish publish,
                 const DataModel* data = nullptr);

  // The endpoint's two topics, to subscribe to.
  std::vector<std::string> subscriptions() const;
  void on_message(std::string_view topic, ByteView bytes, Instant now);
  std::optional<Instant> next_deadline() const { return exchanges_.next_deadline(); }
  void on_timer(Instant now) { exchanges_.on_timer(now); }
  const binding::mqtt::ExchangeCounters& exchange_counters() const { return exchanges_.counters(); }

  bool serves(std::string_view scheme) const override;
  std::string binding_letters() const override { return "M"; }
  char binding_letter(const Route&) const override { return 'M'; }
  Result<Route> route(const std::string& uri, std::optional<std::uint16_t> security,
                      const std::string& alternative, bool bootstrap) override;
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
  void set_route_event_handler(std::function<void(const Route&, const RouteEvent&)>) override {}
  // Queue mode: the server's sessions are asleep; `rest` (the broker connection's sleep)
  // runs, and the next publication wakes the connection.
  void sleep(const Route& route) override {
    if (route.peer == kRegistrationPeer && rest_) rest_();
  }
  void set_rest_handler(std::function<void()> rest) { rest_ = std::move(rest); }

 private:
  static constexpr std::uint64_t kRegistrationPeer = 1;
  static constexpr std::uint64_t kBootstrapPeer = 2;

  binding::mqtt::Topic topic(std::uint64_t peer) const;
  std::optional<binding::mqtt::CoseKey>& key_for(binding::mqtt::Interface interface) {
    return interface == binding::mqtt::Interface::kBootstrap ? bootstrap_key_ : server_key_;
  }
  void publish(const std::string& topic, const Bytes& bytes);
  void on_request(const binding::mqtt::Topic& topic, const binding::mqtt::Payload& request,
                  binding::mqtt::Exchanges::Responder respond);

  MqttClientLinkConfig config_;
  binding::mqtt::Exchanges::Publish publish_;
  const DataModel* data_;
  // Transport TS 8.6: the COSE keys of the server and bootstrap server accounts, if linked.
  std::optional<binding::mqtt::CoseKey> server_key_;
  std::optional<binding::mqtt::CoseKey> bootstrap_key_;
  std::uint64_t cose_refused_ = 0;
  binding::mqtt::Exchanges exchanges_;
  std::function<void(DeviceRequest&)> on_request_;
  std::function<void(ObservationHandle)> on_observation_ended_;
  std::function<void()> rest_;
  // Open observations: handle -> the token the server observed with.
  std::map<ObservationHandle, std::uint64_t> observations_;
  ObservationHandle next_handle_ = 1;
  Instant last_now_{};
};

}  // namespace tether::client
