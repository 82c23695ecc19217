// The MQTT connection against a real Mosquitto broker on 127.0.0.1: publish and subscribe
// through our event loop, MQTT 5's No Local and 3.1.1 without it, and a broker restart in
// the middle (the connection comes back and subscribes again by itself).
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "support/mosquitto_broker.hpp"
#include "support/run_loop.hpp"
#include "transport/mqtt/mqtt_connection.hpp"

namespace tether::transport {
namespace {

struct Received {
  std::string topic;
  std::string payload;
};

struct Peer {
  Peer(EventLoop& loop, std::uint16_t port, std::string id, int version = 5)
      : connection(loop, config(port, std::move(id), version)) {
    connection.set_message_handler([this](std::string_view topic, ByteView payload) {
      received.push_back({std::string(topic), to_string(payload)});
    });
  }
  static MqttConnectionConfig config(std::uint16_t port, std::string id, int version) {
    MqttConnectionConfig c;
    c.port = port;
    c.client_id = std::move(id);
    c.protocol_version = version;
    c.reconnect_min = Duration{100};
    c.reconnect_max = Duration{500};
    return c;
  }
  MqttConnection connection;
  std::vector<Received> received;
};

using testing::run_until;

TEST(MqttConnection, PublishesAndReceivesThroughARealBroker) {
  testing::MosquittoBroker broker;
  EventLoop loop;
  Peer server(loop, broker.port(), "tether-srv");
  Peer client(loop, broker.port(), "tether-dev1");
  server.connection.subscribe("t/lwm2m/rd/+", 1, true);
  client.connection.subscribe("t/lwm2m/rd/dev1", 1, true);
  ASSERT_TRUE(server.connection.start());
  ASSERT_TRUE(client.connection.start());
  ASSERT_TRUE(run_until(
      loop, [&] { return server.connection.connected() && client.connection.connected(); }));
  // A subscription is in place once the broker has answered it; publish until heard.
  const Bytes body = {0xa2, 0x01, 0x06, 0x02, 0x01};  // binary, with no text meaning
  ASSERT_TRUE(run_until(loop, [&] {
    if (server.received.empty()) (void)client.connection.publish("t/lwm2m/rd/dev1", body, 1);
    loop.run_once(Duration{50});
    return !server.received.empty();
  }));
  EXPECT_EQ(server.received.front().topic, "t/lwm2m/rd/dev1");
  EXPECT_EQ(server.received.front().payload, to_string(body));

  // The server answers on the same topic; No Local keeps its own message from coming back.
  ASSERT_TRUE(server.connection.publish("t/lwm2m/rd/dev1", to_bytes("answer"), 1));
  ASSERT_TRUE(run_until(loop, [&] {
    return std::any_of(client.received.begin(), client.received.end(),
                       [](const Received& r) { return r.payload == "answer"; });
  }));
  for (const auto& r : server.received) EXPECT_NE(r.payload, "answer");
  // And the client did not hear its own publications either.
  for (const auto& r : client.received) EXPECT_NE(r.payload, to_string(body));
}

TEST(MqttConnection, OnMqtt311ASubscriberHearsItself) {
  // Why the binding drops its own messages itself on 3.1.1 brokers (No Local is MQTT 5).
  testing::MosquittoBroker broker;
  EventLoop loop;
  Peer old(loop, broker.port(), "tether-311", 4);
  old.connection.subscribe("x/#", 0, true);
  ASSERT_TRUE(old.connection.start());
  ASSERT_TRUE(run_until(loop, [&] {
    if (old.connection.connected()) (void)old.connection.publish("x/1", to_bytes("me"), 0);
    loop.run_once(Duration{50});
    return !old.received.empty();
  }));
  EXPECT_EQ(old.received.front().payload, "me");
}

TEST(MqttConnection, ComesBackAndSubscribesAgainAfterTheBrokerRestarts) {
  testing::MosquittoBroker broker;
  EventLoop loop;
  Peer server(loop, broker.port(), "tether-srv");
  Peer client(loop, broker.port(), "tether-dev1");
  std::vector<bool> states;
  server.connection.set_state_handler(
      [&](bool connected, const std::string&) { states.push_back(connected); });
  server.connection.subscribe("lwm2m/rd/+", 1, true);
  ASSERT_TRUE(server.connection.start());
  ASSERT_TRUE(client.connection.start());
  ASSERT_TRUE(run_until(
      loop, [&] { return server.connection.connected() && client.connection.connected(); }));

  broker.stop();
  ASSERT_TRUE(run_until(loop, [&] { return !server.connection.connected(); }));
  EXPECT_FALSE(client.connection.publish("lwm2m/rd/dev1", to_bytes("lost"), 1));
  broker.start();
  ASSERT_TRUE(run_until(
      loop, [&] { return server.connection.connected() && client.connection.connected(); }));
  EXPECT_GE(server.connection.reconnects(), 1u);
  // The subscription was sent again: a message after the restart arrives.
  ASSERT_TRUE(run_until(loop, [&] {
    if (server.received.empty())
      (void)client.connection.publish("lwm2m/rd/dev1", to_bytes("back"), 1);
    loop.run_once(Duration{50});
    return !server.received.empty();
  }));
  EXPECT_EQ(server.received.back().payload, "back");
  ASSERT_GE(states.size(), 3u);
  EXPECT_EQ(states[0], true);
  EXPECT_EQ(states[1], false);
  EXPECT_EQ(states[2], true);
}

TEST(MqttConnection, AMissingBrokerIsRetriedNotFatal) {
  EventLoop loop;
  Peer lonely(loop, testing::free_tcp_port(), "tether-lonely");
  ASSERT_TRUE(lonely.connection.start());
  loop.run(loop.now() + Duration{1'000});
  EXPECT_FALSE(lonely.connection.connected());
  EXPECT_GE(lonely.connection.reconnects(), 1u);
  EXPECT_FALSE(lonely.connection.publish("lwm2m/rd/x", to_bytes("nobody"), 0));
}

}  // namespace
}  // namespace tether::transport
