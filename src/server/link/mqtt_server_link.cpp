#include "server/link/mqtt_server_link.hpp"

#include <algorithm>
#include <memory>

#include "binding/mqtt/downlink_mapping.hpp"
#include "binding/mqtt/uplink_mapping.hpp"

namespace tether::server {

namespace {
namespace mq = binding::mqtt;

// Answers with the generic response (8.4) under the request's token.
class MqttReply final : public UplinkReply {
 public:
  MqttReply(mq::Exchanges::Responder respond, std::uint64_t token)
      : respond_(std::move(respond)), token_(token) {}
  void answer(lwm2m::UplinkAnswer a) override {
    if (respond_) respond_(mq::encode_uplink_answer(a, token_));
  }
  std::unique_ptr<UplinkReply> keep() const override {
    return std::make_unique<MqttReply>(respond_, token_);
  }

 private:
  mq::Exchanges::Responder respond_;
  std::uint64_t token_;
};

const char* interface_name(mq::Interface i) {
  return i == mq::Interface::kBootstrap ? "bs" : "rd";
}

Bytes token_bytes(std::uint64_t token) {
  Bytes out(8);
  for (int i = 7; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(token & 0xff);
    token >>= 8;
  }
  return out;
}
}  // namespace

MqttServerLink::MqttServerLink(MqttLinkConfig config, const lwm2m::model::Model& model,
                               mq::Exchanges::Publish publish)
    : config_(std::move(config)),
      model_(model),
      publish_(std::move(publish)),
      exchanges_(
          config_.prefix,
          [this](const std::string& topic, const Bytes& bytes) { this->publish(topic, bytes); },
          config_.exchange_timeout, config_.first_token) {
  exchanges_.set_request_handler(
      [this](const mq::Topic& topic, const mq::Payload& request, mq::Exchanges::Responder respond) {
        on_request(topic, request, std::move(respond));
      });
}

std::string MqttServerLink::subscription() const {
  return mq::server_subscription(config_.prefix, config_.interface);
}

std::optional<mq::CoseKey> MqttServerLink::cose_key(const std::string& endpoint) const {
  if (!cose_keys_) return std::nullopt;
  return cose_keys_(endpoint);
}

void MqttServerLink::publish(const std::string& topic, const Bytes& bytes) {
  auto t = mq::parse_topic(topic, config_.prefix);
  if (auto key = t ? cose_key(t->endpoint) : std::nullopt) {
    auto sealed = mq::seal(*key, bytes);
    if (!sealed) return;  // a key put on file was checked; nothing goes out in clear
    publish_(topic, *sealed);
    return;
  }
  publish_(topic, bytes);
}

void MqttServerLink::on_message(std::string_view topic, ByteView bytes, Instant now) {
  auto t = mq::parse_topic(topic, config_.prefix);
  if (auto key = t ? cose_key(t->endpoint) : std::nullopt) {
    // Transport TS 8.6: this endpoint's maps come sealed with its key, or not at all.
    auto opened = mq::open(bytes, [&key](ByteView kid) -> const mq::CoseKey* {
      return std::equal(kid.begin(), kid.end(), key->kid.begin(), key->kid.end()) ? &*key : nullptr;
    });
    if (!opened) {
      ++cose_refused_;
      return;
    }
    exchanges_.on_message(topic, *opened, now);
    return;
  }
  exchanges_.on_message(topic, bytes, now);
}

mq::Topic MqttServerLink::topic_of(const std::string& endpoint) const {
  return mq::Topic{config_.prefix, config_.interface, endpoint};
}

void MqttServerLink::on_request(const mq::Topic& topic, const mq::Payload& request,
                                mq::Exchanges::Responder respond) {
  // The other interface's topics are not this link's (a bootstrap link hears only bs/).
  if (topic.interface != config_.interface || !on_uplink_) return;
  auto decoded = mq::decode_uplink(topic, request);
  // Our own request heard back (MQTT 3.1.1 has no No Local), or a server's: not answered.
  if (!decoded && decoded.error().reason == mq::kNotAClientOperation) return;
  UplinkFrom from;
  from.link = this;
  from.peer.name = topic.endpoint;
  from.endpoint = topic.endpoint;
  from.summary = "operation " +
                 (request.operation ? std::to_string(*request.operation) : std::string("?")) +
                 " on lwm2m/" + interface_name(topic.interface) + "/" + topic.endpoint;
  MqttReply reply(std::move(respond), request.token.value_or(0));
  if (!decoded) {
    on_uplink_(from, decoded.error(), reply);
    return;
  }
  on_uplink_(from, std::move(decoded->request), reply);
}

PeerIdentity MqttServerLink::identify(const PeerKey& peer) const {
  PeerIdentity id;
  id.transport = config_.name;
  id.address = describe(peer);
  // Only maps that opened with the endpoint's key get this far (on_message).
  if (auto key = cose_key(peer.name)) id.cose = to_hex(key->kid);
  return id;
}

std::string MqttServerLink::describe(const PeerKey& peer) const {
  return mq::topic_name(topic_of(peer.name));
}

Result<PeerKey> MqttServerLink::peer_at(const std::string& address, const std::string& endpoint) {
  (void)address;  // the topic follows from the endpoint
  if (auto ok = mq::check_topic_endpoint(endpoint); !ok) return ok.error();
  return PeerKey{0, endpoint};
}

Result<Ok> MqttServerLink::can_carry(const lwm2m::DownlinkRequest& request,
                                     const std::string& root) const {
  (void)root;  // MQTT names objects from the endpoint's topic, not under a root path
  auto encoded = mq::encode_downlink(request, 0, model_);
  if (!encoded) return encoded.error();
  return Ok{};
}

mq::Exchanges::AnswerCallback MqttServerLink::decoding(ExchangeId id,
                                                       const lwm2m::DownlinkRequest& request,
                                                       AnswerHandler handler) {
  // What decoding needs of the request: its operation and path, and a Create's body (MQTT
  // has no Location: the instance created is the one the body named).
  lwm2m::DownlinkRequest shape;
  shape.op = request.op;
  shape.path = request.path;
  if (request.op == lwm2m::Operation::kCreate) shape.content = request.content;
  const bool observe =
      request.op == lwm2m::Operation::kObserve || request.op == lwm2m::Operation::kObserveComposite;
  return [this, id, shape = std::move(shape), observe, handler = std::move(handler),
          notifications = std::uint32_t{0}](Result<mq::Payload> p) mutable {
    auto it = open_.find(id);
    const bool still_open =
        it != open_.end() && exchanges_.is_open(it->second.endpoint, it->second.token);
    if (!still_open && it != open_.end()) open_.erase(it);
    if (!p) {
      handler(p.error());
      return;
    }
    auto response = mq::decode_downlink_response(shape, *p, model_);
    if (!response) {
      handler(fail("an answer that does not decode: " + response.error().reason));
      return;
    }
    // The engine tells an established observation by a sequence number, as CoAP's Observe.
    if (observe && response->code.is_success()) {
      response->observe = p->operation == mq::opcode::kNotify ? ++notifications : 0;
    }
    handler(std::move(*response));
  };
}

Result<ExchangeId> MqttServerLink::request(const PeerKey& peer,
                                           const lwm2m::DownlinkRequest& request,
                                           const std::string& root, AnswerHandler handler,
                                           Instant now) {
  (void)root;
  auto payload = mq::encode_downlink(request, 0, model_);
  if (!payload) return payload.error();
  const ExchangeId id = next_id_++;
  open_[id] = Open{peer.name, 0};
  const std::uint64_t token = exchanges_.request(topic_of(peer.name), std::move(*payload),
                                                 decoding(id, request, std::move(handler)), now);
  open_[id].token = token;
  return id;
}

void MqttServerLink::forget(ExchangeId id, Instant now) {
  auto it = open_.find(id);
  if (it == open_.end()) return;
  const Open o = it->second;
  open_.erase(it);
  // MQTT has no RST to end an observation the client still serves: a passive cancel tells it
  // too, and nobody waits for the answer.
  if (!exchanges_.cancel_observation(
          topic_of(o.endpoint), o.token, [](Result<mq::Payload>) {}, now)) {
    exchanges_.forget(o.endpoint, o.token);
  }
}

void MqttServerLink::cancel_observation(ExchangeId id, const lwm2m::DownlinkRequest& observe,
                                        const std::string& root, Instant now,
                                        AnswerHandler on_answer) {
  (void)root;
  auto it = open_.find(id);
  if (it == open_.end()) {
    on_answer(fail("no such observation"));
    return;
  }
  const Open o = it->second;
  if (!exchanges_.cancel_observation(topic_of(o.endpoint), o.token,
                                     decoding(id, observe, std::move(on_answer)), now)) {
    open_.erase(id);
  }
}

Result<ExchangeId> MqttServerLink::adopt_observation(const PeerKey& peer,
                                                     const lwm2m::DownlinkRequest& request,
                                                     const std::string& root, ByteView token,
                                                     AnswerHandler on_notify) {
  (void)root;
  if (token.size() != 8) return fail("not an MQTT observation's token");
  std::uint64_t t = 0;
  for (auto b : token) t = (t << 8) | b;
  const ExchangeId id = next_id_++;
  open_[id] = Open{peer.name, t};
  exchanges_.adopt(topic_of(peer.name), t, decoding(id, request, std::move(on_notify)));
  return id;
}

std::vector<std::pair<std::string, std::uint64_t>> MqttServerLink::counters() const {
  const auto& c = exchanges_.counters();
  return {{"malformed", c.malformed},  {"unmatched", c.unmatched}, {"echo", c.echoes},
          {"duplicate", c.duplicates}, {"timeout", c.timeouts},    {"cose-refused", cose_refused_}};
}

Bytes MqttServerLink::token_of(ExchangeId id) const {
  auto it = open_.find(id);
  return it == open_.end() ? Bytes{} : token_bytes(it->second.token);
}

}  // namespace tether::server
