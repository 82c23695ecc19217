// What happens to state when exchanges end: cancelled requests stop costing airtime,
// pings are answered on both carriers, closing a datagram peer ends what it held.
#include <gtest/gtest.h>

#include "coap/sim_network.hpp"

namespace tether::coap {
namespace {

using sim::Node;
using sim::Packet;
using sim::Recorder;
using sim::SimNetwork;

constexpr PeerId kClientAddr = 1;
constexpr PeerId kServerAddr = 2;

bool has_path(const Packet& p, std::string_view path) {
  return p.message && p.message->code.is_request() && p.message->path() == path;
}

TEST(Lifecycle, CancelledRequestIsNotRetransmitted) {
  SimNetwork net;
  Node client({}, 1), server({}, 2);
  net.add(kClientAddr, client);
  net.add(kServerAddr, server);
  net.drop_if([](const Packet& p) { return p.from == kClientAddr; });  // server unreachable
  Recorder rec;
  const RequestId id =
      client.endpoint.request(kServerAddr, sim::get("/a"), rec.handler(), net.now());
  net.run_for(Duration{1000});  // before the first retransmission (>= ACK_TIMEOUT = 2 s)
  client.endpoint.cancel(id, false, net.now());
  net.run_for(Duration{120'000});
  EXPECT_EQ(net.count(kClientAddr, [](const Packet& p) { return has_path(p, "/a"); }), 1u);
  EXPECT_EQ(client.endpoint.message_layer().peer_count(), 0u);
}

TEST(Lifecycle, CancelledRequestWaitingForNstartIsNeverSent) {
  SimNetwork net;
  Node client({}, 1), server({}, 2);
  net.add(kClientAddr, client);
  net.add(kServerAddr, server);
  server.endpoint.set_request_handler([&](PeerId, const Message& req, Responder r) {
    r.respond(make_response(req, codes::kContent), net.now());
  });
  net.drop_nth(1);  // the first request is lost, so the second waits behind NSTART = 1
  Recorder first, second;
  client.endpoint.request(kServerAddr, sim::get("/first"), first.handler(), net.now());
  const RequestId queued =
      client.endpoint.request(kServerAddr, sim::get("/second"), second.handler(), net.now());
  client.endpoint.cancel(queued, false, net.now());
  net.run_for(Duration{60'000});
  ASSERT_EQ(first.size(), 1u);
  EXPECT_TRUE(first.ok());
  EXPECT_EQ(second.size(), 0u);
  EXPECT_EQ(net.count(kClientAddr, [](const Packet& p) { return has_path(p, "/second"); }), 0u);
}

TEST(Lifecycle, PingIsAnsweredOverUdpAndTcp) {
  for (Carrier carrier : {Carrier::kDatagram, Carrier::kStream}) {
    EndpointConfig config;
    config.carrier = carrier;
    SimNetwork net(carrier);
    Node client(config, 1), server(config, 2);
    net.add(kClientAddr, client);
    net.add(kServerAddr, server);
    if (carrier == Carrier::kStream) net.connect(kClientAddr, kServerAddr);
    Recorder rec;
    client.endpoint.ping(kServerAddr, rec.handler(), net.now());
    net.run_for(Duration{5000});
    ASSERT_EQ(rec.size(), 1u);
    ASSERT_TRUE(rec.ok());
    if (carrier == Carrier::kStream) {
      EXPECT_EQ(rec.results[0]->code, codes::kPong);
    } else {
      EXPECT_EQ(rec.results[0]->type, Type::kReset);
    }
    EXPECT_EQ(client.endpoint.pending_requests(), 0u);
  }
}

TEST(Lifecycle, PingOverTcpWithoutConnectionFails) {
  EndpointConfig config;
  config.carrier = Carrier::kStream;
  Node client(config, 1);
  Recorder rec;
  client.endpoint.ping(kServerAddr, rec.handler(), sim::epoch());
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_FALSE(rec.ok());
}

TEST(Lifecycle, ClosingADatagramPeerEndsItsObservations) {
  SimNetwork net;
  Node client({}, 1), server({}, 2);
  net.add(kClientAddr, client);
  net.add(kServerAddr, server);
  std::optional<ObservationId> observation;
  server.endpoint.set_request_handler([&](PeerId, const Message& req, Responder r) {
    Message res = make_response(req, codes::kContent);
    res.set_observe(0);
    observation = r.respond(std::move(res), net.now());
  });
  std::vector<Failure> ended;
  server.endpoint.set_observation_ended_handler(
      [&](ObservationId, Failure why) { ended.push_back(why); });
  Message obs = sim::get("/3303/0/5700");
  obs.set_observe(0);
  Recorder rec;
  client.endpoint.request(kServerAddr, std::move(obs), rec.handler(), net.now());
  net.run_for(Duration{1000});
  ASSERT_TRUE(observation.has_value());
  ASSERT_TRUE(server.endpoint.has_observation(*observation));
  server.endpoint.close(kClientAddr, net.now());
  EXPECT_FALSE(server.endpoint.has_observation(*observation));
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0], Failure::kClosed);
}

}  // namespace
}  // namespace tether::coap

namespace tether::coap {
namespace {

// RFC 7252 4.4: a peer whose state was forgotten between requests must not reuse a MID the
// other side still remembers, or it would get another request's cached reply.
TEST(Lifecycle, MessageIdsDoNotRepeatWhenAnIdlePeerIsForgotten) {
  SimNetwork net;
  Node client({}, 1), server({}, 2);
  net.add(kClientAddr, client);
  net.add(kServerAddr, server);
  server.endpoint.set_request_handler([&](PeerId, const Message& req, Responder r) {
    r.respond(make_response(req, codes::kContent), net.now());
  });
  std::size_t ok = 0;
  std::size_t failed = 0;
  for (int i = 0; i < 3000; ++i) {
    client.endpoint.request(
        kServerAddr, sim::get("/3/0/0"), [&](Result<Message> r) { (r ? ok : failed) += 1; },
        net.now());
    net.settle();
    net.run_for(Duration{1});
  }
  EXPECT_EQ(ok, 3000u);
  EXPECT_EQ(failed, 0u);
}

}  // namespace
}  // namespace tether::coap
