// RFC 7641 Observe on both sides of an Endpoint.
#include <gtest/gtest.h>

#include <memory>
#include <optional>

#include "coap/endpoint.hpp"
#include "coap/tcp_codec.hpp"
#include "hex.hpp"
#include "sim_network.hpp"

namespace tether::coap {
namespace {

using sim::Node;
using sim::Packet;
using sim::Recorder;
using sim::SimNetwork;

constexpr PeerId kClient = 1;
constexpr PeerId kServer = 2;

Message observe_request(std::string_view path, Type type = Type::kConfirmable) {
  Message m = sim::get(path, type);
  m.set_observe(0);
  return m;
}

Message content(std::string_view text) {
  Message m;
  m.code = codes::kContent;
  m.payload = to_bytes(text);
  return m;
}

// Client and server on one network; the server accepts every observation.
struct ObserveFixture : ::testing::Test {
  ObserveFixture(Carrier carrier = Carrier::kDatagram)
      : net(carrier), client(config(carrier), 1), server(config(carrier), 2) {
    net.add(kClient, client);
    net.add(kServer, server);
    server.endpoint.set_request_handler([this](PeerId peer, const Message& req, Responder r) {
      ++server_calls;
      last_request = req;
      Message resp = make_response(req, codes::kContent);
      resp.payload = to_bytes("v0");
      if (req.observe() == 0u && accept_observe) resp.set_observe(first_seq);
      auto id = r.respond(std::move(resp), net.now());
      if (id) {
        observation = id;
        observer = peer;
      }
    });
    server.endpoint.set_observation_ended_handler(
        [this](ObservationId id, Failure why) { ended.emplace_back(id, why); });
    if (carrier == Carrier::kStream) net.connect(kClient, kServer);
  }
  static EndpointConfig config(Carrier carrier) {
    EndpointConfig c;
    c.carrier = carrier;
    return c;
  }

  RequestId observe(std::string_view path = "/3303/0/5700", Type type = Type::kConfirmable) {
    RequestId id =
        client.endpoint.request(kServer, observe_request(path, type), rec.handler(), net.now());
    net.settle();
    return id;
  }
  std::vector<std::string> payloads() const {
    std::vector<std::string> out;
    for (const auto& r : rec.results) out.push_back(r ? to_string(r->payload) : "error");
    return out;
  }

  SimNetwork net;
  Node client;
  Node server;
  Recorder rec;
  int server_calls = 0;
  bool accept_observe = true;
  std::uint32_t first_seq = 5;
  Message last_request;
  std::optional<ObservationId> observation;
  PeerId observer = 0;
  std::vector<std::pair<ObservationId, Failure>> ended;
};

TEST_F(ObserveFixture, RegistrationReturnsAnObservationId) {
  observe();
  EXPECT_EQ(server_calls, 1);
  EXPECT_EQ(last_request.observe(), 0u);
  ASSERT_TRUE(observation.has_value());
  EXPECT_EQ(observer, kClient);
  EXPECT_TRUE(server.endpoint.has_observation(*observation));
  EXPECT_EQ(server.endpoint.observation_count(), 1u);
  // The transport keeps an observer's address for as long (UdpTransport's busy check).
  EXPECT_TRUE(server.endpoint.observed_by(kClient));
  EXPECT_FALSE(server.endpoint.observed_by(kServer));
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec.message().observe(), 5u);
  EXPECT_EQ(to_string(rec.message().payload), "v0");
  // The observation stays open on the client, also long after EXCHANGE_LIFETIME.
  net.run_for(Duration{600'000});
  EXPECT_EQ(client.endpoint.pending_requests(), 1u);
  EXPECT_EQ(rec.size(), 1u);
}

TEST_F(ObserveFixture, ResponseWithoutObserveRegistersNothing) {
  accept_observe = false;
  observe();
  EXPECT_FALSE(observation.has_value());
  EXPECT_EQ(server.endpoint.observation_count(), 0u);
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_FALSE(rec.message().observe().has_value());
  EXPECT_EQ(client.endpoint.pending_requests(), 0u);
}

TEST_F(ObserveFixture, ErrorResponseToRegistrationRegistersNothing) {
  server.endpoint.set_request_handler([this](PeerId, const Message& req, Responder r) {
    Message resp = make_response(req, codes::kNotFound);
    resp.set_observe(3);  // must be ignored on an error
    observation = r.respond(std::move(resp), net.now());
  });
  observe();
  EXPECT_FALSE(observation.has_value());
  EXPECT_EQ(server.endpoint.observation_count(), 0u);
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec.message().code, codes::kNotFound);
  EXPECT_FALSE(rec.message().observe().has_value());
  EXPECT_EQ(client.endpoint.pending_requests(), 0u);
}

TEST_F(ObserveFixture, ConAndNonNotificationsArriveInOrder) {
  observe();
  ASSERT_TRUE(observation.has_value());
  for (int i = 1; i <= 6; ++i) {
    const Type t = i % 2 == 0 ? Type::kConfirmable : Type::kNonConfirmable;
    EXPECT_TRUE(
        server.endpoint.notify(*observation, content("v" + std::to_string(i)), t, net.now()));
    net.run_for(Duration{5000});
  }
  EXPECT_EQ(payloads(), (std::vector<std::string>{"v0", "v1", "v2", "v3", "v4", "v5", "v6"}));
  for (std::size_t i = 1; i < rec.size(); ++i) {
    EXPECT_EQ(*rec.message(i).observe(), 5u + i);
  }
  // CON notifications are acknowledged by the client, NON ones are not answered.
  auto notes = net.sent(kServer, [](const Packet& p) { return p.message->observe().has_value(); });
  ASSERT_EQ(notes.size(), 7u);
  EXPECT_EQ(net.count(kClient, sim::is_empty_ack), 3u);
  EXPECT_EQ(net.count(kClient, [](const Packet& p) { return sim::is_type(p, Type::kReset); }), 0u);
  EXPECT_EQ(server.endpoint.observation_count(), 1u);
}

TEST_F(ObserveFixture, BackToBackConNotificationsAreAllDelivered) {
  observe();
  ASSERT_TRUE(observation.has_value());
  for (int i = 1; i <= 4; ++i) {
    server.endpoint.notify(*observation, content("c" + std::to_string(i)), Type::kConfirmable,
                           net.now());
  }
  net.run_for(Duration{60'000});
  EXPECT_EQ(payloads(), (std::vector<std::string>{"v0", "c1", "c2", "c3", "c4"}));
}

TEST_F(ObserveFixture, ReorderedOlderNotificationIsDropped) {
  observe();
  ASSERT_TRUE(observation.has_value());
  // The first notification takes 2 s, the second 10 ms: the first arrives stale.
  net.delay_by([](const Packet& p) {
    return p.message && p.message->payload == to_bytes("old") ? Duration{2000} : Duration{10};
  });
  server.endpoint.notify(*observation, content("old"), Type::kNonConfirmable, net.now());
  server.endpoint.notify(*observation, content("new"), Type::kNonConfirmable, net.now());
  net.run_for(Duration{5000});
  EXPECT_EQ(payloads(), (std::vector<std::string>{"v0", "new"}));
}

TEST_F(ObserveFixture, StaleConNotificationIsStillAcknowledged) {
  observe();
  ASSERT_TRUE(observation.has_value());
  net.delay_by([](const Packet& p) {
    return p.message && p.message->payload == to_bytes("old") ? Duration{1500} : Duration{10};
  });
  server.endpoint.notify(*observation, content("old"), Type::kConfirmable, net.now());
  net.run_for(Duration{1});
  server.endpoint.notify(*observation, content("new"), Type::kNonConfirmable, net.now());
  net.run_for(Duration{60'000});
  EXPECT_EQ(payloads(), (std::vector<std::string>{"v0", "new"}));
  // The stale CON was acknowledged (not reset), so the observation lives on.
  EXPECT_EQ(server.endpoint.observation_count(), 1u);
  EXPECT_TRUE(ended.empty());
}

TEST_F(ObserveFixture, LostConNotificationIsRetransmittedAndDeliveredOnce) {
  observe();
  ASSERT_TRUE(observation.has_value());
  net.drop_nth(net.next_seq());      // the notification
  net.drop_nth(net.next_seq() + 2);  // the client's ACK of its first retransmission
  server.endpoint.notify(*observation, content("n1"), Type::kConfirmable, net.now());
  net.run_for(Duration{60'000});
  EXPECT_EQ(payloads(), (std::vector<std::string>{"v0", "n1"}));
  EXPECT_EQ(
      net.count(kServer, [](const Packet& p) { return p.message->payload == to_bytes("n1"); }), 3u);
  EXPECT_TRUE(ended.empty());
}

TEST_F(ObserveFixture, RegistrationAnsweredSeparately) {
  std::optional<Responder> later;
  Message held;
  server.endpoint.set_request_handler([&](PeerId, const Message& req, Responder r) {
    held = req;
    later = r;
  });
  observe();
  net.run_for(Duration{5000});
  ASSERT_TRUE(later.has_value());
  EXPECT_EQ(rec.size(), 0u);
  Message resp = make_response(held, codes::kContent);
  resp.set_observe(1);
  resp.payload = to_bytes("v0");
  observation = later->respond(resp, net.now());
  ASSERT_TRUE(observation.has_value());
  net.settle();
  server.endpoint.notify(*observation, content("v1"), Type::kNonConfirmable, net.now());
  net.settle();
  EXPECT_EQ(payloads(), (std::vector<std::string>{"v0", "v1"}));
}

TEST(IsNewerNotification, SequenceNumbersAndWrapAround) {
  const Instant t = sim::epoch();
  EXPECT_TRUE(is_newer_notification(5, t, 6, t));
  EXPECT_FALSE(is_newer_notification(6, t, 5, t));
  EXPECT_FALSE(is_newer_notification(6, t, 6, t));
  // 24-bit wrap-around: 0 follows 0xffffff.
  EXPECT_TRUE(is_newer_notification(0xffffff, t, 0, t));
  EXPECT_TRUE(is_newer_notification(0xfffff0, t, 3, t));
  EXPECT_FALSE(is_newer_notification(0, t, 0xffffff, t));
  // The half-way point (2^23) is not newer in either direction.
  EXPECT_TRUE(is_newer_notification(10, t, 10 + (1u << 23) - 1, t));
  EXPECT_FALSE(is_newer_notification(10, t, 10 + (1u << 23), t));
  EXPECT_FALSE(is_newer_notification(10 + (1u << 23), t, 10, t));
  EXPECT_TRUE(is_newer_notification(10 + (1u << 23) + 1, t, 10, t));
}

TEST(IsNewerNotification, AnythingIsNewerAfter128Seconds) {
  const Instant t = sim::epoch();
  EXPECT_FALSE(is_newer_notification(6, t, 5, t + Duration{128'000}));
  EXPECT_TRUE(is_newer_notification(6, t, 5, t + Duration{128'001}));
  EXPECT_TRUE(is_newer_notification(6, t, 6, t + Duration{200'000}));
}

TEST(ObserveClient, UsesSequenceAndTimeToDropStaleNotifications) {
  SimNetwork net;
  Node client({}, 1);
  net.add(kClient, client);
  net.add_raw(kServer);
  Recorder rec;
  client.endpoint.request(kServer, observe_request("/o"), rec.handler(), net.now());
  net.settle();
  ASSERT_EQ(net.raw_inbox(kServer).size(), 1u);
  const Message reg = *net.raw_inbox(kServer)[0].message;
  Message first = make_response(reg, codes::kContent);
  first.type = Type::kAcknowledgement;
  first.message_id = reg.message_id;
  first.set_observe(100);
  first.payload = to_bytes("100");
  net.send_raw(kServer, kClient, first);
  net.settle();
  std::uint16_t mid = 500;
  auto note = [&](std::uint32_t seq) {
    Message n = make_response(reg, codes::kContent);
    n.type = Type::kNonConfirmable;
    n.message_id = mid++;
    n.set_observe(seq);
    n.payload = to_bytes(std::to_string(seq));
    net.send_raw(kServer, kClient, n);
    net.settle();
  };
  note(99);   // older: dropped
  note(101);  // newer
  note(101);  // same number, new MID: not newer
  net.run_for(Duration{129'000});
  note(50);  // older number, but more than 128 s later
  std::vector<std::string> got;
  for (const auto& r : rec.results) got.push_back(to_string(r->payload));
  EXPECT_EQ(got, (std::vector<std::string>{"100", "101", "50"}));
  // Dropped notifications are not answered with RST: the client still wants them.
  for (const auto& p : net.raw_inbox(kServer)) EXPECT_FALSE(sim::is_type(p, Type::kReset));
}

TEST_F(ObserveFixture, ProactiveCancelSendsObserveOneAndEndsTheObservation) {
  const RequestId id = observe();
  ASSERT_TRUE(observation.has_value());
  const Bytes token = net.sent(kClient, sim::is_request).at(0).message->token;
  client.endpoint.cancel(id, /*proactive=*/true, net.now());
  net.settle();
  auto requests = net.sent(kClient, sim::is_request);
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].message->observe(), 1u);
  EXPECT_EQ(requests[1].message->token, token);
  EXPECT_EQ(requests[1].message->code, codes::kGet);
  EXPECT_EQ(requests[1].message->path(), "/3303/0/5700");
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].first, *observation);
  EXPECT_EQ(ended[0].second, Failure::kCancelled);
  EXPECT_EQ(server.endpoint.observation_count(), 0u);
  EXPECT_FALSE(server.endpoint.observed_by(kClient));
  EXPECT_FALSE(
      server.endpoint.notify(*observation, content("late"), Type::kConfirmable, net.now()));
  EXPECT_EQ(client.endpoint.pending_requests(), 0u);
  EXPECT_EQ(rec.size(), 1u);  // the handler hears nothing after cancel
}

TEST_F(ObserveFixture, PassiveCancelResetsTheNextNotification) {
  for (Type type : {Type::kConfirmable, Type::kNonConfirmable}) {
    SCOPED_TRACE(type_name(type));
    ended.clear();
    observation.reset();
    const RequestId id = observe();
    ASSERT_TRUE(observation.has_value());
    const std::size_t before = rec.size();
    client.endpoint.cancel(id, /*proactive=*/false, net.now());
    net.settle();
    EXPECT_EQ(client.endpoint.pending_requests(), 0u);
    EXPECT_EQ(net.count(kClient, [](const Packet& p) { return p.message->observe() == 1u; }), 0u);
    EXPECT_TRUE(server.endpoint.notify(*observation, content("x"), type, net.now()));
    net.settle();
    ASSERT_EQ(ended.size(), 1u);
    EXPECT_EQ(ended[0].first, *observation);
    EXPECT_EQ(ended[0].second, Failure::kReset);
    EXPECT_FALSE(server.endpoint.has_observation(*observation));
    EXPECT_EQ(rec.size(), before);
  }
}

TEST_F(ObserveFixture, UnacknowledgedConNotificationEndsTheObservation) {
  observe();
  ASSERT_TRUE(observation.has_value());
  net.drop_if([](const Packet& p) { return p.from == kClient; });
  EXPECT_TRUE(server.endpoint.notify(*observation, content("1"), Type::kConfirmable, net.now()));
  net.run_for(Duration{200'000});
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].second, Failure::kTimeout);
  EXPECT_EQ(server.endpoint.observation_count(), 0u);
  EXPECT_EQ(net.count(kServer, [](const Packet& p) { return p.message->payload == to_bytes("1"); }),
            5u);
}

TEST_F(ObserveFixture, NonSuccessNotificationEndsTheObservation) {
  const RequestId id = observe();
  (void)id;
  ASSERT_TRUE(observation.has_value());
  Message gone;
  gone.code = codes::kNotFound;
  EXPECT_TRUE(server.endpoint.notify(*observation, gone, Type::kConfirmable, net.now()));
  net.settle();
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(server.endpoint.observation_count(), 0u);
  ASSERT_EQ(rec.size(), 2u);
  EXPECT_EQ(rec.message(1).code, codes::kNotFound);
  EXPECT_FALSE(rec.message(1).observe().has_value());
  EXPECT_EQ(client.endpoint.pending_requests(), 0u);
  EXPECT_FALSE(
      server.endpoint.notify(*observation, content("after"), Type::kConfirmable, net.now()));
}

TEST(ObserveServer, ReRegistrationWithTheSameTokenKeepsTheObservation) {
  SimNetwork net;
  Node server({}, 2);
  net.add(kServer, server);
  net.add_raw(kClient);
  std::vector<std::optional<ObservationId>> ids;
  int ended = 0;
  server.endpoint.set_observation_ended_handler([&](ObservationId, Failure) { ++ended; });
  server.endpoint.set_request_handler([&](PeerId, const Message& req, Responder r) {
    Message resp = make_response(req, codes::kContent);
    resp.set_observe(1);
    ids.push_back(r.respond(std::move(resp), net.now()));
  });
  Message reg = observe_request("/o");
  reg.token = {7, 7, 7};
  reg.message_id = 1;
  net.send_raw(kClient, kServer, reg);
  net.settle();
  reg.message_id = 2;
  net.send_raw(kClient, kServer, reg);
  net.settle();
  ASSERT_EQ(ids.size(), 2u);
  ASSERT_TRUE(ids[0].has_value());
  EXPECT_EQ(ids[0], ids[1]);
  EXPECT_EQ(server.endpoint.observation_count(), 1u);
  EXPECT_EQ(ended, 0);
  // A different token is a second observation.
  reg.message_id = 3;
  reg.token = {8};
  net.send_raw(kClient, kServer, reg);
  net.settle();
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_NE(ids[2], ids[0]);
  EXPECT_EQ(server.endpoint.observation_count(), 2u);
  // Notifications carry the registration's token and increasing sequence numbers.
  const std::size_t before = net.raw_inbox(kClient).size();
  server.endpoint.notify(*ids[0], content("a"), Type::kNonConfirmable, net.now());
  server.endpoint.notify(*ids[0], content("b"), Type::kNonConfirmable, net.now());
  net.settle();
  auto& inbox = net.raw_inbox(kClient);
  ASSERT_EQ(inbox.size(), before + 2);
  EXPECT_EQ(inbox[before].message->token, (Bytes{7, 7, 7}));
  EXPECT_EQ(inbox[before].message->observe(), 2u);
  EXPECT_EQ(inbox[before + 1].message->observe(), 3u);
}

TEST_F(ObserveFixture, HandlerMayCancelFromInsideANotification) {
  observe();
  ASSERT_TRUE(observation.has_value());
  // The handler of the observation cancels it and then still uses its own captures.
  auto calls = std::make_shared<int>(0);
  RequestId id = 0;
  id = client.endpoint.request(
      kServer, observe_request("/other"),
      [this, calls, &id](Result<Message>) {
        if (++*calls == 2) {
          client.endpoint.cancel(id, /*proactive=*/true, net.now());
          EXPECT_EQ(*calls, 2);  // touches the closure's state after cancel
        }
      },
      net.now());
  net.settle();
  ASSERT_TRUE(observation.has_value());
  const ObservationId second = *observation;
  server.endpoint.notify(second, content("n1"), Type::kConfirmable, net.now());
  net.settle();
  server.endpoint.notify(second, content("n2"), Type::kConfirmable, net.now());
  net.settle();
  EXPECT_EQ(*calls, 2);
  EXPECT_FALSE(server.endpoint.has_observation(second));
}

TEST_F(ObserveFixture, NonObservationRequestIsUnaffected) {
  observe();
  Recorder plain;
  client.endpoint.request(kServer, sim::get("/plain"), plain.handler(), net.now());
  net.settle();
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_EQ(client.endpoint.pending_requests(), 1u);
  EXPECT_EQ(server.endpoint.observation_count(), 1u);
}

struct StreamObserveFixture : ObserveFixture {
  StreamObserveFixture() : ObserveFixture(Carrier::kStream) {}
};

TEST_F(StreamObserveFixture, NotificationsOverTcp) {
  observe();
  ASSERT_TRUE(observation.has_value());
  server.endpoint.notify(*observation, content("t1"), Type::kConfirmable, net.now());
  server.endpoint.notify(*observation, content("t2"), Type::kNonConfirmable, net.now());
  net.settle();
  EXPECT_EQ(payloads(), (std::vector<std::string>{"v0", "t1", "t2"}));
}

// RFC 8323 7.2: over a reliable transport the Observe value may be empty and must be
// ignored; the stream delivers in order, so no freshness check may drop anything.
TEST(ObserveStreamClient, EmptyObserveOptionNotificationsAreAllDelivered) {
  SimNetwork net(Carrier::kStream);
  EndpointConfig config;
  config.carrier = Carrier::kStream;
  Node client(config, 1);
  net.add(kClient, client);
  net.add_raw(kServer);
  net.connect(kClient, kServer);
  net.send_raw(kServer, kClient, test_support::hex("00 e1"));  // the peer's empty CSM
  net.settle();
  Recorder rec;
  client.endpoint.request(kServer, observe_request("/3303/0/5700"), rec.handler(), net.now());
  net.settle();
  const auto requests = net.raw_inbox(kServer);
  ASSERT_FALSE(requests.empty());
  Result<Message> reg = decode_tcp(requests.back().bytes);
  ASSERT_TRUE(reg.ok());
  ASSERT_EQ(reg->token.size(), 8u);
  // What such a client sends: len 13, TKL 8, 2.05, token, Observe (empty), Content-Format
  // (empty: text/plain), payload "21.5" padded.
  for (const char* value : {"21.5000000", "21.6000000", "21.7000000"}) {
    Bytes frame = test_support::hex("d8 00 45");
    frame.insert(frame.end(), reg->token.begin(), reg->token.end());
    const Bytes tail = test_support::hex("60 60 ff");
    frame.insert(frame.end(), tail.begin(), tail.end());
    const std::string text(value);
    frame.insert(frame.end(), text.begin(), text.end());
    net.send_raw(kServer, kClient, frame);
    net.settle();
    net.run_for(Duration{1'000});
  }
  std::vector<std::string> got;
  for (const auto& r : rec.results) got.push_back(r ? to_string(r->payload) : "error");
  EXPECT_EQ(got, (std::vector<std::string>{"21.5000000", "21.6000000", "21.7000000"}));
}

TEST_F(StreamObserveFixture, ConnectionLossEndsObservationsOnBothSides) {
  observe();
  ASSERT_TRUE(observation.has_value());
  server.endpoint.close(kClient, net.now());
  net.settle();
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].second, Failure::kClosed);
  EXPECT_EQ(client.endpoint.pending_requests(), 0u);
  ASSERT_EQ(rec.size(), 2u);
  EXPECT_FALSE(rec.ok(1));
}

}  // namespace
}  // namespace tether::coap
