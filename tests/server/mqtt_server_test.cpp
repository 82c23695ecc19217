// The LwM2M server over the MQTT binding (Transport TS 8), on virtual time, with a scripted
// client on an in-memory broker: registration named by the topic, device management and
// observations by token, the rules that keep a topic's name from reaching what it did not
// make, and a restart that keeps observations.
#include <gtest/gtest.h>

#include <memory>

#include "binding/mqtt/exchanges.hpp"
#include "binding/mqtt/uplink_mapping.hpp"
#include "common/random.hpp"
#include "lwm2m/format/link_format.hpp"
#include "lwm2m/model/object_registry.hpp"
#include "server/link/mqtt_server_link.hpp"
#include "server/lwm2m_server.hpp"
#include "server/store/memory/memory_store.hpp"
#include "support/manual_clock.hpp"
#include "support/memory_broker.hpp"

namespace tether::server {
namespace {

namespace mq = binding::mqtt;
using tether::testing::ManualClock;
using tether::testing::MemoryBroker;

// A server with one MQTT link under prefix "t" (and, when asked, a second link "mqtt-b" under
// prefix "u") on one broker.
struct MqttServerHarness {
  explicit MqttServerHarness(MemoryBroker& b, MemoryStore& store, ManualClock& c,
                             bool second_link = false)
      : broker(b),
        clock(c),
        random(5),
        models(lwm2m::model::ObjectRegistry::with_builtin()),
        server(ServerConfig{}, clock, random, store, models) {
    auto make = [&](std::string name, std::string prefix) {
      MqttLinkConfig config;
      config.name = std::move(name);
      config.prefix = std::move(prefix);
      Bytes start(4);
      random.fill(start);
      config.first_token =
          1'000'000 + (std::uint64_t{start[0]} << 16 | std::uint64_t{start[1]} << 8 | start[2]);
      auto owned = std::make_unique<MqttServerLink>(config, models, broker.publisher());
      MqttServerLink* l = owned.get();
      server.attach(std::move(owned));
      broker.subscribers.push_back(
          [this, l, alive = alive](std::string_view topic, ByteView bytes, Instant now) {
            if (*alive) l->on_message(topic, bytes, now);
          });
      return l;
    };
    link = make("mqtt", "t");
    if (second_link) other = make("mqtt-b", "u");
    server.set_event_handler([this](const ServerEvent& e) { events.push_back(e); });
  }
  ~MqttServerHarness() { *alive = false; }

  void tick() {
    if (link) link->on_timer(clock.now());
    if (other) other->on_timer(clock.now());
    server.on_timer();
  }
  std::size_t count(ServerEvent::Kind kind) const {
    std::size_t n = 0;
    for (const auto& e : events) n += e.kind == kind ? 1 : 0;
    return n;
  }

  MemoryBroker& broker;
  ManualClock& clock;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
  SeededRandom random;
  lwm2m::model::ObjectRegistry models;
  Lwm2mServer server;
  MqttServerLink* link = nullptr;
  MqttServerLink* other = nullptr;
  std::vector<ServerEvent> events;
};

// A client that speaks the table 8.7 maps through its own exchange layer.
struct MqttFakeClient {
  MqttFakeClient(MemoryBroker& b, std::string prefix, std::string ep)
      : broker(b),
        topic{std::move(prefix), mq::Interface::kRegistration, std::move(ep)},
        exchanges(topic.prefix, broker.publisher(), Duration{10'000}, 77) {
    exchanges.set_request_handler(
        [this](const mq::Topic&, const mq::Payload& p, mq::Exchanges::Responder respond) {
          received.push_back(p);
          if (!answer) return;
          respond(answer(p));
        });
    broker.subscribers.push_back(
        [this, alive = alive](std::string_view t, ByteView bytes, Instant now) {
          if (*alive) exchanges.on_message(t, bytes, now);
        });
  }
  ~MqttFakeClient() { *alive = false; }

  Result<mq::Payload> exchange(mq::Payload request) {
    std::optional<Result<mq::Payload>> got;
    exchanges.request(
        topic, std::move(request), [&](Result<mq::Payload> r) { got = std::move(r); }, broker.now);
    broker.deliver();
    if (!got) return fail("no answer");
    return std::move(*got);
  }
  Result<mq::Payload> register_with(std::uint32_t lifetime = 300, bool queue = false) {
    lwm2m::RegisterRequest r;
    r.params.endpoint = topic.endpoint;
    r.params.lifetime = lifetime;
    r.params.version = "1.2";
    r.params.queue_mode = queue;
    r.objects = *lwm2m::format::link_format::parse_registration("</1/0>,</3/0>,</3303/0>");
    return exchange(mq::encode_register(r, 0));
  }
  Result<mq::Payload> update(std::optional<std::uint32_t> lifetime = std::nullopt) {
    lwm2m::UpdateRequest u;
    u.params.lifetime = lifetime;
    return exchange(mq::encode_update(u, 0));
  }
  // A Notify (8.3.4) for the observation with `token`, published as it is.
  void notify(std::uint64_t token, const std::string& text) {
    mq::Payload n;
    n.operation = mq::opcode::kNotify;
    n.token = token;
    n.content_type = 0;
    n.payload = to_bytes(text);
    broker.publisher()(mq::topic_name(topic), mq::encode(n));
    broker.deliver();
  }

  MemoryBroker& broker;
  mq::Topic topic;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
  mq::Exchanges exchanges;
  std::function<mq::Payload(const mq::Payload&)> answer;
  std::vector<mq::Payload> received;
};

mq::Payload result(std::uint64_t code, std::optional<std::string> text = std::nullopt) {
  mq::Payload p;
  p.result = code;
  if (text) {
    p.content_type = 0;
    p.payload = to_bytes(*text);
  }
  return p;
}

lwm2m::DownlinkRequest read(const lwm2m::Path& path,
                            lwm2m::Operation op = lwm2m::Operation::kRead) {
  lwm2m::DownlinkRequest r;
  r.op = op;
  r.path = path;
  return r;
}

struct MqttServerTest : ::testing::Test {
  MemoryBroker broker;
  MemoryStore store;
  ManualClock clock;
  std::optional<DownlinkResult> last;
  DownlinkCallback keep() {
    return [this](DownlinkResult r) { last = std::move(r); };
  }
};

TEST_F(MqttServerTest, RegisterIsNamedByTheTopicAndStoredWithTheLink) {
  MqttServerHarness h(broker, store, clock);
  MqttFakeClient dev(broker, "t", "dev1");
  auto answer = dev.register_with();
  ASSERT_TRUE(answer.ok()) << answer.error().reason;
  EXPECT_EQ(answer->result, 201u);
  EXPECT_FALSE(answer->payload.has_value());  // no location on MQTT
  const Registration* r = h.server.find("dev1");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->transport, "mqtt");
  EXPECT_EQ(r->address, "t/lwm2m/rd/dev1");
  EXPECT_EQ(r->lifetime, 300u);
  EXPECT_EQ(h.count(ServerEvent::Kind::kRegistered), 1u);

  // Update and De-register name the registration by the topic.
  auto updated = dev.update(600);
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->result, 204u);
  EXPECT_EQ(h.server.find("dev1")->lifetime, 600u);
  auto gone = dev.exchange(mq::encode_deregister(0));
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone->result, 202u);
  EXPECT_EQ(h.server.find("dev1"), nullptr);
  // Nothing left to update.
  auto again = dev.update();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->result, 404u);
}

TEST_F(MqttServerTest, ReadReachesTheClientByTokenAndDecodesItsAnswer) {
  MqttServerHarness h(broker, store, clock);
  MqttFakeClient dev(broker, "t", "dev1");
  ASSERT_TRUE(dev.register_with().ok());
  dev.answer = [](const mq::Payload& p) {
    EXPECT_EQ(p.operation, mq::opcode::kRead);
    EXPECT_EQ(p.uri, "/3/0/0");
    return result(205, "Tether");
  };
  h.server.send("dev1", read({3, 0, 0}), {}, keep());
  broker.deliver();
  ASSERT_TRUE(last.has_value());
  ASSERT_EQ(last->status, DownlinkResult::Status::kAnswered) << last->message;
  EXPECT_EQ(last->response->code, lwm2m::status::kContent);
  const auto* v = last->response->content.find_value({3, 0, 0});
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(lwm2m::to_text(*v), "Tether");
  EXPECT_EQ(h.server.metrics().requests.at({"read", "2.05"}), 1u);
}

TEST_F(MqttServerTest, RequestsTheMapCannotCarryAreRefusedAtOnce) {
  MqttServerHarness h(broker, store, clock);
  MqttFakeClient dev(broker, "t", "dev1");
  ASSERT_TRUE(dev.register_with().ok());
  auto observe = read({3303, 0, 5700}, lwm2m::Operation::kObserve);
  observe.attributes = {"pmin=10"};  // 8.3.4: an Observe carries no attributes
  h.server.send("dev1", observe, {}, keep());
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->status, DownlinkResult::Status::kBadRequest);
  EXPECT_TRUE(dev.received.empty());
}

TEST_F(MqttServerTest, SilentClientTimesOut) {
  MqttServerHarness h(broker, store, clock);
  MqttFakeClient dev(broker, "t", "dev1");
  ASSERT_TRUE(dev.register_with().ok());
  DownlinkOptions options;
  options.timeout = Duration{5'000};
  h.server.send("dev1", read({3, 0}), options, keep());
  broker.deliver();
  EXPECT_FALSE(last.has_value());
  clock.at += Duration{5'001};
  h.tick();
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->status, DownlinkResult::Status::kTimeout);
  // A late answer finds nothing waiting, and the next request goes out.
  dev.answer = [](const mq::Payload&) { return result(205, "x"); };
  last.reset();
  h.server.send("dev1", read({3, 0, 0}), {}, keep());
  broker.deliver();
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->status, DownlinkResult::Status::kAnswered);
}

TEST_F(MqttServerTest, ObserveDeliversNotifyUntilCancelled) {
  MqttServerHarness h(broker, store, clock);
  MqttFakeClient dev(broker, "t", "dev1");
  ASSERT_TRUE(dev.register_with().ok());
  dev.answer = [](const mq::Payload& p) {
    return p.operation == mq::opcode::kCancelObserve ? result(205) : result(205, "21.5");
  };
  h.server.send("dev1", read({3303, 0, 5700}, lwm2m::Operation::kObserve), {}, keep());
  broker.deliver();
  ASSERT_TRUE(last.has_value());
  ASSERT_FALSE(last->observation_id.empty()) << last->message;
  const std::uint64_t token = *dev.received.back().token;
  auto records = h.server.observations("dev1");
  ASSERT_EQ(records.size(), 1u);
  ASSERT_EQ(records[0].token.size(), 8u);

  dev.notify(token, "22.5");
  dev.notify(token, "23.5");
  ASSERT_EQ(h.count(ServerEvent::Kind::kNotification), 2u);
  const auto* value = h.events.back().content->content.find_value({3303, 0, 5700});
  ASSERT_NE(value, nullptr);
  EXPECT_EQ(lwm2m::to_text(*value), "23.5");
  // A Notify under another token is nobody's.
  dev.notify(token + 1, "99");
  EXPECT_EQ(h.count(ServerEvent::Kind::kNotification), 2u);

  // Active cancel: Cancel-Observe (22) under the observation's token; the answer is reported.
  std::optional<DownlinkResult> cancelled;
  ASSERT_TRUE(h.server.cancel_observation(last->observation_id, true,
                                          [&](DownlinkResult r) { cancelled = std::move(r); }));
  broker.deliver();
  EXPECT_EQ(dev.received.back().operation, mq::opcode::kCancelObserve);
  EXPECT_EQ(dev.received.back().token, token);
  ASSERT_TRUE(cancelled.has_value());
  EXPECT_EQ(cancelled->status, DownlinkResult::Status::kAnswered);
  dev.notify(token, "24.5");
  EXPECT_EQ(h.count(ServerEvent::Kind::kNotification), 2u);
  EXPECT_TRUE(h.server.observations("dev1").empty());
}

TEST_F(MqttServerTest, PassiveCancelStillTellsTheClient) {
  // MQTT has no RST: without a Cancel-Observe the client would publish for ever.
  MqttServerHarness h(broker, store, clock);
  MqttFakeClient dev(broker, "t", "dev1");
  ASSERT_TRUE(dev.register_with().ok());
  dev.answer = [](const mq::Payload&) { return result(205, "1"); };
  h.server.send("dev1", read({3303, 0, 5700}, lwm2m::Operation::kObserve), {}, keep());
  broker.deliver();
  ASSERT_TRUE(last && !last->observation_id.empty());
  ASSERT_TRUE(h.server.cancel_observation(last->observation_id, false));
  broker.deliver();
  EXPECT_EQ(dev.received.back().operation, mq::opcode::kCancelObserve);
}

TEST_F(MqttServerTest, ANameReachesOnlyWhatWasMadeOnTheSameLink) {
  MqttServerHarness h(broker, store, clock, true);
  MqttFakeClient on_b(broker, "u", "dev1");
  ASSERT_EQ(on_b.register_with()->result, 201u);
  // The same name under the other prefix cannot update or end it...
  MqttFakeClient on_a(broker, "t", "dev1");
  EXPECT_EQ(on_a.update()->result, 404u);
  EXPECT_EQ(on_a.exchange(mq::encode_deregister(0))->result, 404u);
  EXPECT_EQ(h.server.find("dev1")->transport, "mqtt-b");
  EXPECT_GE(h.server.metrics().rejected_uplinks, 2u);
}

TEST_F(MqttServerTest, AnEndpointWithCredentialsCannotRegisterByName) {
  MqttServerHarness h(broker, store, clock);
  Credentials c;
  c.endpoint = "dev1";
  c.kind = Credentials::Kind::kPsk;
  c.psk_identity = "dev1";
  c.psk_key = Bytes(16, 7);
  ASSERT_TRUE(h.server.put_credentials(c).ok());
  MqttFakeClient dev(broker, "t", "dev1");
  auto answer = dev.register_with();
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->result, 403u);
  EXPECT_EQ(h.server.find("dev1"), nullptr);
}

TEST_F(MqttServerTest, BadMapsAreAnsweredOrDroppedAndCounted) {
  MqttServerHarness h(broker, store, clock);
  // Not CBOR at all: dropped (no token to answer with) and counted.
  broker.publisher()("t/lwm2m/rd/dev1", to_bytes("not cbor"));
  // An unknown operation: answered 400.
  mq::Payload odd;
  odd.operation = 99;
  odd.token = 5;
  broker.publisher()("t/lwm2m/rd/dev1", mq::encode(odd));
  std::size_t before = broker.log.size();
  broker.deliver();
  EXPECT_EQ(h.link->exchange_counters().malformed, 1u);
  ASSERT_EQ(broker.log.size(), before + 1);
  auto answer = mq::decode(broker.log.back().bytes);
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->result, 400u);
  EXPECT_EQ(answer->token, 5u);
  EXPECT_EQ(h.server.registration_count(), 0u);
}

TEST_F(MqttServerTest, ARegistrationExpiresAfterItsLifetimeAsOverCoap) {
  MqttServerHarness h(broker, store, clock);
  MqttFakeClient dev(broker, "t", "dev1");
  ASSERT_EQ(dev.register_with(60)->result, 201u);
  clock.at += Duration{59'000};
  h.tick();
  ASSERT_NE(h.server.find("dev1"), nullptr);
  ASSERT_EQ(dev.update()->result, 204u);  // an Update starts the lifetime again
  clock.at += Duration{59'000};
  h.tick();
  ASSERT_NE(h.server.find("dev1"), nullptr);
  clock.at += Duration{2'000};
  h.tick();
  EXPECT_EQ(h.server.find("dev1"), nullptr);
  EXPECT_EQ(h.count(ServerEvent::Kind::kExpired), 1u);
  EXPECT_EQ(dev.update()->result, 404u);  // the client registers again, as over CoAP
}

TEST_F(MqttServerTest, ObservationsSurviveARestart) {
  std::string id;
  std::uint64_t token = 0;
  MqttFakeClient dev(broker, "t", "dev1");
  dev.answer = [](const mq::Payload&) { return result(205, "1"); };
  {
    MqttServerHarness first(broker, store, clock);
    ASSERT_TRUE(dev.register_with().ok());
    first.server.send("dev1", read({3303, 0, 5700}, lwm2m::Operation::kObserve), {}, keep());
    broker.deliver();
    ASSERT_TRUE(last && !last->observation_id.empty());
    id = last->observation_id;
    token = *dev.received.back().token;
    first.server.shutdown();
  }
  MqttServerHarness second(broker, store, clock);
  ASSERT_TRUE(second.server.restore().ok());
  ASSERT_NE(second.server.find("dev1"), nullptr);
  dev.notify(token, "2");
  ASSERT_EQ(second.count(ServerEvent::Kind::kNotification), 1u);
  EXPECT_EQ(second.events.back().observation_id, id);
  // And the restored registration is reachable by name.
  dev.answer = [](const mq::Payload&) { return result(205, "Tether"); };
  last.reset();
  second.server.send("dev1", read({3, 0, 0}), {}, keep());
  broker.deliver();
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->status, DownlinkResult::Status::kAnswered);
}

}  // namespace
}  // namespace tether::server
