#include "client/link/mqtt_client_link.hpp"

#include <algorithm>
#include <stdexcept>
#include <variant>

#include "binding/mqtt/device_mapping.hpp"
#include "binding/mqtt/downlink_mapping.hpp"
#include "binding/mqtt/uplink_mapping.hpp"
#include "client/security_credentials.hpp"

namespace tether::client {

namespace {
namespace mq = binding::mqtt;

mq::Payload encode(const lwm2m::Uplink& request) {
  return std::visit(
      [](const auto& r) -> mq::Payload {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, lwm2m::RegisterRequest>) {
          return mq::encode_register(r, 0);
        } else if constexpr (std::is_same_v<T, lwm2m::UpdateRequest>) {
          return mq::encode_update(r, 0);
        } else if constexpr (std::is_same_v<T, lwm2m::DeregisterRequest>) {
          return mq::encode_deregister(0);
        } else if constexpr (std::is_same_v<T, lwm2m::SendRequest>) {
          return mq::encode_send(r, 0);
        } else if constexpr (std::is_same_v<T, lwm2m::BootstrapRequest>) {
          return mq::encode_bootstrap_request(r, 0);
        } else {
          return mq::encode_bootstrap_pack_request(r, 0);
        }
      },
      request);
}

// A server's map from one of our topics, answered with the generic response.
class MqttDeviceRequest final : public DeviceRequest {
 public:
  MqttDeviceRequest(Route from, const mq::Topic& topic, const mq::Payload& p,
                    mq::Exchanges::Responder respond,
                    std::map<ObservationHandle, std::uint64_t>& open, ObservationHandle& next)
      : from_(from), topic_(topic), p_(p), respond_(std::move(respond)), open_(open), next_(next) {}
  Route from() const override { return from_; }
  std::string summary() const override {
    return "operation " + std::to_string(p_.operation.value_or(0)) + " " + p_.uri.value_or("");
  }
  Result<lwm2m::DownlinkRequest> decode(bool, const lwm2m::model::Model& model) const override {
    // The topic says which interface, not the sender.
    return mq::decode_device_request(topic_, p_, model);
  }
  std::optional<ObservationHandle> answer(const lwm2m::EncodedAnswer& a, bool open_observation,
                                          Instant) override {
    if (!respond_) return std::nullopt;
    respond_(mq::encode_device_answer(a));
    respond_ = nullptr;
    if (!open_observation || !a.code.is_success()) return std::nullopt;
    const ObservationHandle h = next_++;
    open_[h] = p_.token.value_or(0);
    return h;
  }

 private:
  Route from_;
  const mq::Topic& topic_;
  const mq::Payload& p_;
  mq::Exchanges::Responder respond_;
  std::map<ObservationHandle, std::uint64_t>& open_;
  ObservationHandle& next_;
};
}  // namespace

MqttClientLink::MqttClientLink(MqttClientLinkConfig config, mq::Exchanges::Publish publish,
                               const DataModel* data)
    : config_(std::move(config)),
      publish_(std::move(publish)),
      data_(data),
      exchanges_(
          config_.prefix,
          [this](const std::string& topic, const Bytes& bytes) { this->publish(topic, bytes); },
          config_.exchange_timeout, config_.first_token) {
  if (!config_.prefix.empty()) {
    if (auto ok = mq::check_prefix(config_.prefix); !ok) {
      throw std::invalid_argument("MQTT prefix: " + ok.error().reason);
    }
  }
  if (auto ok = mq::check_topic_endpoint(config_.endpoint); !ok) {
    throw std::invalid_argument("endpoint name over MQTT: " + ok.error().reason);
  }
  exchanges_.set_request_handler(
      [this](const mq::Topic& t, const mq::Payload& p, mq::Exchanges::Responder respond) {
        on_request(t, p, std::move(respond));
      });
}

std::vector<std::string> MqttClientLink::subscriptions() const {
  return {mq::topic_name(topic(kRegistrationPeer)), mq::topic_name(topic(kBootstrapPeer))};
}

mq::Topic MqttClientLink::topic(std::uint64_t peer) const {
  return mq::Topic{
      config_.prefix,
      peer == kBootstrapPeer ? mq::Interface::kBootstrap : mq::Interface::kRegistration,
      config_.endpoint};
}

void MqttClientLink::publish(const std::string& topic, const Bytes& bytes) {
  auto t = mq::parse_topic(topic, config_.prefix);
  if (t) {
    if (const auto& key = key_for(t->interface)) {
      auto sealed = mq::seal(*key, bytes);
      if (sealed) publish_(topic, *sealed);
      return;  // never in clear to a server that has a key
    }
  }
  publish_(topic, bytes);
}

void MqttClientLink::on_message(std::string_view t, ByteView bytes, Instant now) {
  last_now_ = now;
  auto parsed = mq::parse_topic(t, config_.prefix);
  if (parsed) {
    if (const auto& key = key_for(parsed->interface)) {
      // Transport TS 8.6: from a server with a key, only maps sealed with it.
      auto opened = mq::open(bytes, [&key](ByteView kid) -> const mq::CoseKey* {
        return std::equal(kid.begin(), kid.end(), key->kid.begin(), key->kid.end()) ? &*key
                                                                                    : nullptr;
      });
      if (!opened) {
        ++cose_refused_;
        return;
      }
      exchanges_.on_message(t, *opened, now);
      return;
    }
  }
  exchanges_.on_message(t, bytes, now);
}

bool MqttClientLink::serves(std::string_view scheme) const {
  return scheme == (config_.tls ? "mqtts" : "mqtt");
}

Result<Route> MqttClientLink::route(const std::string& uri, std::optional<std::uint16_t> security,
                                    const std::string& alternative, bool bootstrap) {
  (void)alternative;  // MQTT has no Release
  // Transport TS 8.8: the Server URI names the broker this link is connected to; the
  // server behind it is reached through the topics.
  if (uri.find("://") == std::string::npos) return fail("bad server URI \"" + uri + "\"");
  if (data_ != nullptr && security) {
    auto key = cose_from_security(*data_, *security);
    if (!key) return fail(uri + ": COSE: " + key.error().reason);
    key_for(bootstrap ? mq::Interface::kBootstrap : mq::Interface::kRegistration) = *key;
  }
  return Route{this, bootstrap ? kBootstrapPeer : kRegistrationPeer};
}

void MqttClientLink::send(const Route& route, const lwm2m::Uplink& request, AnswerHandler done,
                          Instant now) {
  last_now_ = now;
  const bool registering = std::holds_alternative<lwm2m::RegisterRequest>(request);
  exchanges_.request(
      topic(route.peer), encode(request),
      [this, registering, done = std::move(done)](Result<mq::Payload> p) {
        if (!p) return done(p.error());
        auto answer = mq::decode_uplink_answer(*p);
        if (!answer) return done(answer.error());
        // MQTT has no location (8.3.2): the registration is named by our endpoint.
        if (registering && answer->code == lwm2m::status::kCreated) {
          answer->location = config_.endpoint;
        }
        done(std::move(*answer));
      },
      now);
}

bool MqttClientLink::notify(ObservationHandle observation, const lwm2m::EncodedAnswer& content,
                            bool confirmable, Instant now) {
  (void)confirmable;  // QoS is the connection's
  auto it = observations_.find(observation);
  if (it == observations_.end()) return false;
  if (!content.code.is_success()) {
    // An error ends the observation: the generic response under its token says which.
    mq::Payload end = mq::encode_device_answer(content);
    end.token = it->second;
    exchanges_.publish_message(topic(kRegistrationPeer), end, now);
    observations_.erase(it);
    if (on_observation_ended_) on_observation_ended_(observation);
    return true;
  }
  exchanges_.publish_message(topic(kRegistrationPeer), mq::encode_notify(content, it->second), now);
  return true;
}

void MqttClientLink::on_request(const mq::Topic& t, const mq::Payload& p,
                                mq::Exchanges::Responder respond) {
  // Our own uplinks heard back, or another client's answers: not requests to us.
  if (!p.operation || p.result) return;
  if (t.interface == mq::Interface::kRegistration &&
      (p.operation == mq::opcode::kRegister || p.operation == mq::opcode::kUpdate ||
       p.operation == mq::opcode::kDeregister || p.operation == mq::opcode::kSend ||
       p.operation == mq::opcode::kNotify)) {
    return;
  }
  if (t.interface == mq::Interface::kBootstrap &&
      (p.operation == mq::opcode::kBootstrapRequest ||
       p.operation == mq::opcode::kBootstrapPackRequest)) {
    return;
  }
  // 8.3.4: Cancel-Observe names the observation by its token.
  if (t.interface == mq::Interface::kRegistration && p.operation == mq::opcode::kCancelObserve) {
    mq::Payload answer;
    answer.result = 404;
    for (auto it = observations_.begin(); it != observations_.end(); ++it) {
      if (it->second != p.token) continue;
      const ObservationHandle h = it->first;
      observations_.erase(it);
      if (on_observation_ended_) on_observation_ended_(h);
      answer.result = 205;
      break;
    }
    respond(answer);
    return;
  }
  const Route from{this,
                   t.interface == mq::Interface::kBootstrap ? kBootstrapPeer : kRegistrationPeer};
  MqttDeviceRequest request(from, t, p, std::move(respond), observations_, next_handle_);
  if (on_request_) {
    on_request_(request);
  } else {
    request.answer(lwm2m::EncodedAnswer{lwm2m::status::kServiceUnavailable, {}, {}, {}}, false,
                   last_now_);
  }
}

}  // namespace tether::client
