// The MQTT binding's exchange layer on virtual time, between a server side and a client side
// over an in-memory broker that, like an MQTT 3.1.1 broker, also sends each publisher its
// own messages: answers by token, timeouts, observations, repeated requests, echoes and
// messages on the wrong topic.
#include <gtest/gtest.h>

#include <deque>

#include "binding/mqtt/exchanges.hpp"

namespace tether::binding::mqtt {
namespace {

const Topic kDev1{"t", Interface::kRegistration, "dev1"};

struct Broker {
  struct Message {
    std::string topic;
    Bytes bytes;
  };
  std::deque<Message> queue;
  std::vector<Exchanges*> subscribers;
  Instant now{};
  std::size_t published = 0;

  Exchanges::Publish publisher() {
    return [this](const std::string& topic, const Bytes& bytes) {
      ++published;
      queue.push_back({topic, bytes});
    };
  }
  // Delivers everything queued (and what that causes) to every subscriber.
  void deliver() {
    for (int i = 0; i < 1000 && !queue.empty(); ++i) {
      Message m = std::move(queue.front());
      queue.pop_front();
      for (auto* s : subscribers) s->on_message(m.topic, m.bytes, now);
    }
  }
};

struct Pair {
  Pair()
      : server("t", broker.publisher(), Duration{10'000}, 1000),
        client("t", broker.publisher(), Duration{10'000}, 5000) {
    broker.subscribers = {&server, &client};
    client.set_request_handler([this](const Topic&, const Payload& p, Exchanges::Responder r) {
      ++handled;
      if (!answer_requests) return;
      Payload a;
      a.result = p.operation == opcode::kObserve ? 205 : 204;
      r(a);
    });
  }
  Broker broker;
  Exchanges server;
  Exchanges client;
  int handled = 0;
  bool answer_requests = true;
};

Payload op(std::uint64_t code, const char* uri) {
  Payload p;
  p.operation = code;
  p.uri = uri;
  return p;
}

TEST(MqttExchanges, AnAnswerFindsItsRequestByToken) {
  Pair t;
  std::vector<Result<Payload>> got;
  const auto token = t.server.request(
      kDev1, op(opcode::kExecute, "/3/0/4"),
      [&](Result<Payload> r) { got.push_back(std::move(r)); }, t.broker.now);
  t.broker.deliver();
  ASSERT_EQ(got.size(), 1u);
  ASSERT_TRUE(got[0]);
  EXPECT_EQ(got[0]->result, 204u);
  EXPECT_EQ(got[0]->token, token);
  EXPECT_EQ(t.handled, 1);
  // Each side heard its own publication and dropped it.
  EXPECT_EQ(t.server.counters().echoes, 1u);
  EXPECT_EQ(t.client.counters().echoes, 1u);
  EXPECT_FALSE(t.server.is_open("dev1", token));
}

TEST(MqttExchanges, NoAnswerEndsTheExchangeAtItsDeadline) {
  Pair t;
  t.answer_requests = false;
  std::optional<Result<Payload>> got;
  t.server.request(
      kDev1, op(opcode::kRead, "/3/0"), [&](Result<Payload> r) { got = r; }, t.broker.now);
  t.broker.deliver();
  ASSERT_TRUE(t.server.next_deadline());
  t.broker.now += Duration{9'999};
  t.server.on_timer(t.broker.now);
  EXPECT_FALSE(got);
  t.broker.now += Duration{1};
  t.server.on_timer(t.broker.now);
  ASSERT_TRUE(got);
  EXPECT_FALSE(*got);
  EXPECT_EQ(t.server.counters().timeouts, 1u);
  EXPECT_FALSE(t.server.next_deadline());
}

TEST(MqttExchanges, AnObservationHearsItsNotificationsUntilForgotten) {
  Pair t;
  std::vector<Payload> got;
  const auto token = t.server.request(
      kDev1, op(opcode::kObserve, "/3303/0/5700"),
      [&](Result<Payload> r) {
        ASSERT_TRUE(r);
        got.push_back(*r);
      },
      t.broker.now);
  t.broker.deliver();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(t.server.is_open("dev1", token));
  EXPECT_FALSE(t.server.next_deadline());  // an answered observation has no deadline

  Payload notify;
  notify.operation = opcode::kNotify;
  notify.token = token;
  notify.content_type = 0;
  notify.payload = to_bytes("21.5");
  t.broker.publisher()(topic_name(kDev1), encode(notify));
  t.broker.deliver();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].payload, to_bytes("21.5"));

  t.server.forget("dev1", token);
  notify.payload = to_bytes("22");
  t.broker.publisher()(topic_name(kDev1), encode(notify));
  t.broker.deliver();
  EXPECT_EQ(got.size(), 2u);
  EXPECT_GE(t.server.counters().unmatched, 1u);
}

TEST(MqttExchanges, ARepeatedRequestIsAnsweredAgainNotActedOnAgain) {
  Pair t;
  Payload execute = op(opcode::kExecute, "/3/0/4");
  execute.token = 77;
  const Bytes bytes = encode(execute);
  // QoS 1 delivers at least once: the same request twice.
  t.client.on_message(topic_name(kDev1), bytes, t.broker.now);
  t.client.on_message(topic_name(kDev1), bytes, t.broker.now);
  EXPECT_EQ(t.handled, 1);
  EXPECT_EQ(t.client.counters().duplicates, 1u);
  std::size_t answers = 0;
  for (const auto& m : t.broker.queue) {
    auto p = decode(m.bytes);
    if (p && p->result == 204u && p->token == 77u) ++answers;
  }
  EXPECT_EQ(answers, 2u);
}

TEST(MqttExchanges, ForeignTopicsGarbageAndAnotherEndpointsAnswersAreDropped) {
  Pair t;
  t.answer_requests = false;
  std::optional<Result<Payload>> got;
  const auto token = t.server.request(
      kDev1, op(opcode::kRead, "/3/0"), [&](Result<Payload> r) { got = r; }, t.broker.now);
  t.broker.deliver();
  Payload answer;
  answer.result = 205;
  answer.token = token;
  // dev2 answering dev1's token (an endpoint publishing for another): not dev1's answer.
  t.server.on_message("t/lwm2m/rd/dev2", encode(answer), t.broker.now);
  t.server.on_message("other/lwm2m/rd/dev1", encode(answer), t.broker.now);
  t.server.on_message("t/lwm2m/rd/dev1", to_bytes("not cbor"), t.broker.now);
  Payload tokenless;
  tokenless.result = 205;
  t.server.on_message("t/lwm2m/rd/dev1", encode(tokenless), t.broker.now);
  EXPECT_FALSE(got);
  EXPECT_EQ(t.server.counters().unmatched, 1u);
  EXPECT_EQ(t.server.counters().malformed, 3u);
  // The real answer still gets through.
  t.server.on_message("t/lwm2m/rd/dev1", encode(answer), t.broker.now);
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->result, 205u);
}

}  // namespace
}  // namespace tether::binding::mqtt
