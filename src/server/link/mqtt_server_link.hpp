#pragma once
// A ServerLink over an MQTT broker (Transport TS 8): the MQTT binding's mappings on top of its
// exchange layer. Sans-I/O like the rest of the engine: the owner feeds it what the broker
// delivers (on_message) and the time (on_timer at next_deadline), and publishes what it hands
// to `publish`; the MQTT connection itself (transport/mqtt) sits outside.
//
// A client is known by the endpoint its topic names (8.2), which only the broker's access
// rules back: such a peer proves nothing (PeerIdentity::secure() is false), so an endpoint
// with credentials on file cannot register here, and the engine lets a name reach only a
// registration made on this same link.
#include <cstdint>
#include <string>
#include <unordered_map>

#include "binding/mqtt/cose_encrypt0.hpp"
#include "binding/mqtt/exchanges.hpp"
#include "binding/mqtt/topic.hpp"
#include "lwm2m/model/object_definition.hpp"
#include "server/server_link.hpp"

namespace tether::server {

struct MqttLinkConfig {
  std::string name = "mqtt";  // stored with each registration: one per broker
  std::string prefix;         // the tenant (8.2); checked by check_prefix
  binding::mqtt::Interface interface = binding::mqtt::Interface::kRegistration;
  // How long a request waits for its answer on the broker; the engine's own timeouts are
  // shorter and end it first.
  Duration exchange_timeout{300'000};
  // Tokens count up from here; a random start keeps them apart from those of observations
  // made before a restart.
  std::uint64_t first_token = 1;
};

class MqttServerLink final : public ServerLink {
 public:
  MqttServerLink(MqttLinkConfig config, const lwm2m::model::Model& model,
                 binding::mqtt::Exchanges::Publish publish);

  // Transport TS 8.6: the COSE key of an endpoint, if it has one. Its maps must then come
  // sealed with that key (others are dropped and counted) and ours to it go sealed; a map
  // that opened proves the key's kid (PeerIdentity::cose).
  using CoseKeysFor = std::function<std::optional<binding::mqtt::CoseKey>(const std::string&)>;
  void set_cose_keys(CoseKeysFor keys) { cose_keys_ = std::move(keys); }

  // The topic filter to subscribe to: every endpoint's topic of the interface, under the prefix.
  std::string subscription() const;
  void on_message(std::string_view topic, ByteView bytes, Instant now);
  std::optional<Instant> next_deadline() const { return exchanges_.next_deadline(); }
  void on_timer(Instant now) { exchanges_.on_timer(now); }
  const binding::mqtt::ExchangeCounters& exchange_counters() const { return exchanges_.counters(); }

  const std::string& name() const override { return config_.name; }
  void set_uplink_handler(UplinkHandler handler) override { on_uplink_ = std::move(handler); }
  PeerIdentity identify(const PeerKey& peer) const override;
  std::string describe(const PeerKey& peer) const override;
  Result<PeerKey> peer_at(const std::string& address, const std::string& endpoint) override;
  Result<Ok> can_carry(const lwm2m::DownlinkRequest& request,
                       const std::string& root) const override;
  Result<ExchangeId> request(const PeerKey& peer, const lwm2m::DownlinkRequest& request,
                             const std::string& root, AnswerHandler handler, Instant now) override;
  void forget(ExchangeId id, Instant now) override;
  void cancel_observation(ExchangeId id, const lwm2m::DownlinkRequest& observe,
                          const std::string& root, Instant now, AnswerHandler on_answer) override;
  Result<ExchangeId> adopt_observation(const PeerKey& peer, const lwm2m::DownlinkRequest& request,
                                       const std::string& root, ByteView token,
                                       AnswerHandler on_notify) override;
  Bytes token_of(ExchangeId id) const override;
  // Publications go out through the library at once.
  void flush() override {}
  std::vector<std::pair<std::string, std::uint64_t>> counters() const override;

 private:
  struct Open {
    std::string endpoint;
    std::uint64_t token = 0;
  };

  binding::mqtt::Topic topic_of(const std::string& endpoint) const;
  void on_request(const binding::mqtt::Topic& topic, const binding::mqtt::Payload& request,
                  binding::mqtt::Exchanges::Responder respond);
  // Decodes answers and Notify messages for the engine, and drops the id once the
  // exchange has ended.
  binding::mqtt::Exchanges::AnswerCallback decoding(ExchangeId id,
                                                    const lwm2m::DownlinkRequest& request,
                                                    AnswerHandler handler);

  std::optional<binding::mqtt::CoseKey> cose_key(const std::string& endpoint) const;
  void publish(const std::string& topic, const Bytes& bytes);

  MqttLinkConfig config_;
  const lwm2m::model::Model& model_;
  binding::mqtt::Exchanges::Publish publish_;
  CoseKeysFor cose_keys_;
  std::uint64_t cose_refused_ = 0;
  binding::mqtt::Exchanges exchanges_;
  UplinkHandler on_uplink_;
  std::unordered_map<ExchangeId, Open> open_;
  ExchangeId next_id_ = 1;
};

}  // namespace tether::server
