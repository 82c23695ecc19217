// The bootstrap server over the MQTT binding (Transport TS 8.3.1), on virtual time, with a
// scripted device on an in-memory broker: a client-initiated session runs its Deletes, Writes
// and Finish as maps on the endpoint's bs topic, Bootstrap-Pack-Request is answered with the
// pack, and a server-initiated session needs no address.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "binding/mqtt/exchanges.hpp"
#include "bootstrap/bootstrap_config_json.hpp"
#include "bootstrap/bootstrap_server.hpp"
#include "bootstrap/store/memory/memory_bootstrap_store.hpp"
#include "server/link/mqtt_server_link.hpp"
#include "support/manual_clock.hpp"
#include "support/memory_broker.hpp"

namespace tether::bootstrap {
namespace {

namespace mq = binding::mqtt;
using tether::testing::ManualClock;
using tether::testing::MemoryBroker;

constexpr const char* kConfig = R"({
  "security": {"1": {"uri": "mqtt://127.0.0.1:1883", "bootstrap": false, "mode": "nosec",
                     "shortServerId": 101}},
  "servers": {"0": {"shortServerId": 101, "lifetime": 300, "binding": "M"}}
})";

struct MqttBootstrapTest : ::testing::Test {
  MqttBootstrapTest()
      : models(lwm2m::model::ObjectRegistry::with_builtin()),
        bs(BootstrapServerConfig{}, clock, store, models),
        device(prefix, broker.publisher(), Duration{10'000}, 500) {
    server::MqttLinkConfig config;
    config.prefix = prefix;
    config.interface = mq::Interface::kBootstrap;
    auto owned = std::make_unique<server::MqttServerLink>(config, models, broker.publisher());
    link = owned.get();
    bs.attach(std::move(owned));
    broker.subscribers.push_back(
        [this](std::string_view t, ByteView b, Instant now) { link->on_message(t, b, now); });
    broker.subscribers.push_back(
        [this](std::string_view t, ByteView b, Instant now) { device.on_message(t, b, now); });
    device.set_request_handler(
        [this](const mq::Topic&, const mq::Payload& p, mq::Exchanges::Responder respond) {
          received.push_back(p);
          mq::Payload answer;
          answer.result = p.operation == mq::opcode::kBootstrapDelete ? 202 : 204;
          respond(answer);
        });
    auto config_json = config_from_json("dev1", nlohmann::json::parse(kConfig), models);
    EXPECT_TRUE(config_json.ok());
    EXPECT_TRUE(bs.put_config(*config_json).ok());
  }

  std::optional<mq::Payload> ask(mq::Payload request) {
    std::optional<mq::Payload> got;
    device.request(
        topic, std::move(request),
        [&](Result<mq::Payload> r) {
          if (r) got = *r;
        },
        broker.now);
    broker.deliver();
    return got;
  }
  std::vector<std::uint64_t> operations() const {
    std::vector<std::uint64_t> out;
    for (const auto& p : received) out.push_back(p.operation.value_or(99));
    return out;
  }

  std::string prefix = "t";
  mq::Topic topic{prefix, mq::Interface::kBootstrap, "dev1"};
  MemoryBroker broker;
  ManualClock clock;
  lwm2m::model::ObjectRegistry models;
  MemoryBootstrapStore store;
  BootstrapServer bs;
  server::MqttServerLink* link = nullptr;
  mq::Exchanges device;
  std::vector<mq::Payload> received;
};

TEST_F(MqttBootstrapTest, ClientInitiatedSessionRunsOnTheBootstrapTopic) {
  mq::Payload request;
  request.operation = mq::opcode::kBootstrapRequest;
  auto answer = ask(request);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->result, 204u);
  const BootstrapSession* s = bs.session("dev1");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->state, BootstrapSession::State::kFinished) << s->error;
  EXPECT_EQ(s->transport, "mqtt");
  EXPECT_EQ(s->address, "t/lwm2m/bs/dev1");
  // Delete /0 and /1, one Write per instance (Security, Server), then Finish (8.3.1 codes).
  using namespace mq::opcode;
  EXPECT_EQ(operations(),
            (std::vector<std::uint64_t>{kBootstrapDelete, kBootstrapDelete, kBootstrapWrite,
                                        kBootstrapWrite, kBootstrapFinish}));
  EXPECT_EQ(received[2].uri, "/0/1");
  EXPECT_TRUE(received[2].content_type.has_value());
  EXPECT_TRUE(received[2].payload.has_value());
}

TEST_F(MqttBootstrapTest, PackRequestIsAnsweredWithThePack) {
  mq::Payload request;
  request.operation = mq::opcode::kBootstrapPackRequest;
  auto answer = ask(request);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->result, 205u);
  ASSERT_TRUE(answer->content_type.has_value());
  EXPECT_EQ(*answer->content_type, 112u);  // SenML CBOR
  EXPECT_TRUE(answer->payload.has_value());
  EXPECT_TRUE(received.empty());
}

TEST_F(MqttBootstrapTest, UnknownEndpointIsRefused) {
  topic.endpoint = "stranger";
  mq::Payload request;
  request.operation = mq::opcode::kBootstrapRequest;
  auto answer = ask(request);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->result, 400u);
  EXPECT_EQ(bs.session("stranger"), nullptr);
}

TEST_F(MqttBootstrapTest, ServerInitiatedSessionNeedsNoAddress) {
  ASSERT_TRUE(bs.start("dev1", std::nullopt, std::string("mqtt")).ok());
  broker.deliver();
  const BootstrapSession* s = bs.session("dev1");
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->server_initiated);
  EXPECT_EQ(s->state, BootstrapSession::State::kFinished) << s->error;
  EXPECT_EQ(received.back().operation, mq::opcode::kBootstrapFinish);
}

}  // namespace
}  // namespace tether::bootstrap
