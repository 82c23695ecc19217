// RFC 7252 message layer behaviour, observed through Endpoints on a simulated network.
#include <gtest/gtest.h>

#include <optional>

#include "coap/endpoint.hpp"
#include "coap/udp_codec.hpp"
#include "sim_network.hpp"

namespace tether::coap {
namespace {

using sim::Node;
using sim::Packet;
using sim::Recorder;
using sim::SimNetwork;

constexpr PeerId kClient = 1;
constexpr PeerId kServer = 2;

EndpointConfig with_params(TransmissionParameters params) {
  EndpointConfig c;
  c.datagram.params = params;
  return c;
}

// A server whose handler answers 2.05 "hello" at once and counts the calls.
struct EchoServer {
  EchoServer(Node& node, SimNetwork& net) {
    node.endpoint.set_request_handler([this, &net](PeerId, const Message& req, Responder r) {
      ++calls;
      Message resp = make_response(req, codes::kContent);
      resp.payload = to_bytes("hello " + req.path());
      r.respond(std::move(resp), net.now());
    });
  }
  int calls = 0;
};

bool from_client_request(const Packet& p) {
  return p.from == kClient && sim::is_request(p);
}

TEST(DatagramLayer, PiggybacksAResponseGivenAtOnce) {
  SimNetwork net;
  Node client({}, 1), server({}, 2);
  net.add(kClient, client);
  net.add(kServer, server);
  server.endpoint.set_request_handler([&](PeerId peer, const Message& req, Responder r) {
    EXPECT_EQ(peer, kClient);
    EXPECT_EQ(req.path(), "/3/0/1");
    Message resp = make_response(req, codes::kContent);
    resp.payload = to_bytes("Tether");
    r.respond(std::move(resp), net.now());
  });
  Recorder rec;
  client.endpoint.request(kServer, sim::get("/3/0/1"), rec.handler(), net.now());
  net.settle();

  ASSERT_EQ(rec.size(), 1u);
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec.message().code, codes::kContent);
  EXPECT_EQ(to_string(rec.message().payload), "Tether");
  ASSERT_EQ(net.log().size(), 2u);
  const Message& req = *net.log()[0].message;
  const Message& ack = *net.log()[1].message;
  EXPECT_EQ(req.type, Type::kConfirmable);
  EXPECT_EQ(ack.type, Type::kAcknowledgement);
  EXPECT_EQ(ack.message_id, req.message_id);
  EXPECT_EQ(ack.token, req.token);
  EXPECT_FALSE(req.token.empty());
  EXPECT_EQ(client.endpoint.pending_requests(), 0u);
  // Answered at once: no timer is left to acknowledge it empty (issue 22: one per Update
  // was a heap entry and two cold lookups), only the dedup entry's expiry.
  const auto next = server.endpoint.next_deadline();
  ASSERT_TRUE(next);
  EXPECT_GT(*next - net.now(), Duration{60'000});
}

TEST(DatagramLayer, SlowHandlerGetsEmptyAckThenSeparateConResponse) {
  SimNetwork net;
  Node client({}, 1), server({}, 2);
  net.add(kClient, client);
  net.add(kServer, server);
  std::optional<Responder> later;
  Message held;
  int calls = 0;
  server.endpoint.set_request_handler([&](PeerId, const Message& req, Responder r) {
    ++calls;
    held = req;
    later = r;
  });
  Recorder rec;
  const Instant start = net.now();
  client.endpoint.request(kServer, sim::get("/slow"), rec.handler(), net.now());
  net.run_for(Duration{3000});
  ASSERT_TRUE(later.has_value());

  auto acks = net.sent(kServer, sim::is_empty_ack);
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].sent - start, server.endpoint.config().datagram.piggyback_window);
  const Message req_wire = *net.sent(kClient, sim::is_request).at(0).message;
  EXPECT_EQ(acks[0].message->message_id, req_wire.message_id);
  EXPECT_EQ(rec.size(), 0u);

  later->respond(make_response(held, codes::kContent), net.now());
  net.run_for(Duration{1000});
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec.message().code, codes::kContent);
  auto separate =
      net.sent(kServer, [](const Packet& p) { return sim::is_code(p, codes::kContent); });
  ASSERT_EQ(separate.size(), 1u);
  EXPECT_EQ(separate[0].message->type, Type::kConfirmable);
  EXPECT_EQ(separate[0].message->token, req_wire.token);
  EXPECT_NE(separate[0].message->message_id, req_wire.message_id);
  // The client acknowledges the separate response with its MID.
  auto client_acks = net.sent(kClient, sim::is_empty_ack);
  ASSERT_EQ(client_acks.size(), 1u);
  EXPECT_EQ(client_acks[0].message->message_id, separate[0].message->message_id);

  // Nothing is retransmitted afterwards: the request was acknowledged, the response too.
  net.run_for(Duration{300'000});
  EXPECT_EQ(net.count(kClient, sim::is_request), 1u);
  EXPECT_EQ(net.count(kServer, [](const Packet& p) { return sim::is_code(p, codes::kContent); }),
            1u);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(rec.size(), 1u);
}

TEST(DatagramLayer, SeparateResponseIsRetransmittedUntilAcknowledged) {
  SimNetwork net;
  Node client({}, 1), server({}, 2);
  net.add(kClient, client);
  net.add(kServer, server);
  std::optional<Responder> later;
  Message held;
  server.endpoint.set_request_handler([&](PeerId, const Message& req, Responder r) {
    held = req;
    later = r;
  });
  Recorder rec;
  client.endpoint.request(kServer, sim::get("/slow"), rec.handler(), net.now());
  net.run_for(Duration{2000});
  ASSERT_TRUE(later.has_value());
  // Lose the client's first ACK of the separate response.
  net.drop_if([n = 0](const Packet& p) mutable {
    return p.from == kClient && sim::is_empty_ack(p) && n++ == 0;
  });
  later->respond(make_response(held, codes::kContent), net.now());
  net.run_for(Duration{10'000});
  EXPECT_EQ(net.count(kServer, [](const Packet& p) { return sim::is_code(p, codes::kContent); }),
            2u);
  EXPECT_EQ(net.count(kClient, sim::is_empty_ack), 2u);
  EXPECT_EQ(rec.size(), 1u);
}

// Times at which the client put its request on the wire, towards a peer that never answers.
std::vector<Instant> transmissions_to_silent_peer(TransmissionParameters params, std::uint64_t seed,
                                                  Recorder& rec, Instant& failed_at,
                                                  Instant& start) {
  SimNetwork net;
  Node client(with_params(params), seed);
  net.add(kClient, client);
  net.add_raw(kServer);
  start = net.now();
  client.endpoint.request(
      kServer, sim::get("/x"),
      [&](Result<Message> r) {
        failed_at = net.now();
        rec.results.push_back(std::move(r));
      },
      net.now());
  net.run_for(Duration{4'000'000});
  std::vector<Instant> times;
  for (const auto& p : net.raw_inbox(kServer)) times.push_back(p.sent);
  return times;
}

TEST(DatagramLayer, RetransmitsWithRandomisedExponentialBackOffThenTimesOut) {
  const auto params = TransmissionParameters::udp();
  for (std::uint64_t seed = 1; seed <= 16; ++seed) {
    SCOPED_TRACE(seed);
    Recorder rec;
    Instant failed_at{}, start{};
    auto times = transmissions_to_silent_peer(params, seed, rec, failed_at, start);
    ASSERT_EQ(times.size(), 1u + params.max_retransmit);
    EXPECT_EQ(times[0], start);
    const Duration first = times[1] - times[0];
    EXPECT_GE(first, params.ack_timeout);
    EXPECT_LE(first, Duration{3000});  // ACK_TIMEOUT * ACK_RANDOM_FACTOR
    for (std::size_t i = 2; i < times.size(); ++i) {
      EXPECT_EQ(times[i] - times[i - 1], 2 * (times[i - 1] - times[i - 2])) << "i=" << i;
    }
    ASSERT_EQ(rec.size(), 1u);
    EXPECT_FALSE(rec.ok());
    EXPECT_NE(rec.results[0].error().reason.find("timeout"), std::string::npos)
        << rec.results[0].error().reason;
    // The last wait is as long as the doubled timeout: 31 initial timeouts in all, which
    // is between MAX_TRANSMIT_WAIT / ACK_RANDOM_FACTOR and MAX_TRANSMIT_WAIT (93 s).
    EXPECT_EQ(failed_at - start, 31 * first);
    EXPECT_GE(failed_at - start, Duration{62'000});
    EXPECT_LE(failed_at - start, params.max_transmit_wait());
  }
}

TEST(DatagramLayer, FirstTimeoutsCoverTheRandomRange) {
  Duration lo{1'000'000}, hi{0};
  for (std::uint64_t seed = 100; seed < 140; ++seed) {
    Recorder rec;
    Instant failed_at{}, start{};
    auto times =
        transmissions_to_silent_peer(TransmissionParameters::udp(), seed, rec, failed_at, start);
    ASSERT_GE(times.size(), 2u);
    lo = std::min(lo, times[1] - times[0]);
    hi = std::max(hi, times[1] - times[0]);
  }
  // Not all equal: the initial timeout is drawn, not fixed.
  EXPECT_LT(lo + Duration{200}, hi);
}

TEST(DatagramLayer, LorawanPresetRetransmitsFourTimesAtAFixedInterval) {
  const auto params = TransmissionParameters::lorawan();
  Recorder rec;
  Instant failed_at{}, start{};
  auto times = transmissions_to_silent_peer(params, 7, rec, failed_at, start);
  ASSERT_EQ(times.size(), 5u);
  for (std::size_t i = 1; i < times.size(); ++i) {
    EXPECT_EQ(times[i] - times[i - 1], Duration{300'000}) << "i=" << i;
  }
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_FALSE(rec.ok());
  EXPECT_EQ(failed_at - start, Duration{1'500'000});
  EXPECT_EQ(params.max_transmit_span(), Duration{1'200'000});
}

TEST(DatagramLayer, SmsPresetNeverRetransmits) {
  const auto params = TransmissionParameters::sms();
  Recorder rec;
  Instant failed_at{}, start{};
  auto times = transmissions_to_silent_peer(params, 7, rec, failed_at, start);
  ASSERT_EQ(times.size(), 1u);
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_FALSE(rec.ok());
  EXPECT_EQ(failed_at - start, params.ack_timeout);
  EXPECT_EQ(params.max_transmit_span(), Duration{0});
}

TEST(TransmissionParameters, DerivedValuesMatchRfc7252Defaults) {
  const auto p = TransmissionParameters::udp();
  EXPECT_EQ(p.max_transmit_span(), Duration{45'000});
  EXPECT_EQ(p.max_transmit_wait(), Duration{93'000});
  EXPECT_EQ(p.exchange_lifetime(), Duration{247'000});
  EXPECT_EQ(p.non_lifetime(), Duration{145'000});
}

TEST(DatagramLayer, DuplicateConIsHandledOnceAndAnsweredWithTheSameCachedReply) {
  SimNetwork net;
  Node client({}, 1), server({}, 2);
  net.add(kClient, client);
  net.add(kServer, server);
  EchoServer handler(server, net);
  net.duplicate_if(from_client_request);
  Recorder rec;
  client.endpoint.request(kServer, sim::get("/dup"), rec.handler(), net.now());
  net.settle();
  EXPECT_EQ(handler.calls, 1);
  ASSERT_EQ(rec.size(), 1u);
  auto replies = net.sent(kServer);
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0].bytes, replies[1].bytes);
  EXPECT_EQ(replies[0].message->type, Type::kAcknowledgement);

  // A copy arriving much later, but within EXCHANGE_LIFETIME, gets the same reply again.
  const Bytes original = net.log()[0].bytes;
  net.clear_faults();
  net.run_for(Duration{200'000});
  net.send_raw(kClient, kServer, original);
  net.settle();
  EXPECT_EQ(handler.calls, 1);
  auto again = net.sent(kServer);
  ASSERT_EQ(again.size(), 3u);
  EXPECT_EQ(again[2].bytes, replies[0].bytes);
}

TEST(DatagramLayer, DuplicateWhileHandlerIsSlowGetsTheEmptyAck) {
  SimNetwork net;
  Node server({}, 2);
  net.add(kServer, server);
  net.add_raw(kClient);
  int calls = 0;
  server.endpoint.set_request_handler([&](PeerId, const Message&, Responder) { ++calls; });
  Message req = sim::get("/slow");
  req.message_id = 0x4242;
  req.token = {1, 2, 3, 4};
  net.send_raw(kClient, kServer, req);
  net.settle();
  net.send_raw(kClient, kServer, req);  // handler still working: nothing to repeat yet
  net.settle();
  EXPECT_TRUE(net.raw_inbox(kClient).empty());
  net.run_for(Duration{2000});
  ASSERT_EQ(net.raw_inbox(kClient).size(), 1u);
  net.send_raw(kClient, kServer, req);
  net.settle();
  ASSERT_EQ(net.raw_inbox(kClient).size(), 2u);
  EXPECT_EQ(net.raw_inbox(kClient)[1].bytes, net.raw_inbox(kClient)[0].bytes);
  EXPECT_TRUE(sim::is_empty_ack(net.raw_inbox(kClient)[1]));
  EXPECT_EQ(calls, 1);
}

TEST(DatagramLayer, DuplicateAfterExchangeLifetimeIsANewRequest) {
  SimNetwork net;
  Node server({}, 2);
  net.add(kServer, server);
  net.add_raw(kClient);
  EchoServer handler(server, net);
  Message req = sim::get("/again");
  req.message_id = 7;
  req.token = {9};
  net.send_raw(kClient, kServer, req);
  net.settle();
  EXPECT_EQ(handler.calls, 1);
  const Duration lifetime = TransmissionParameters::udp().exchange_lifetime();
  net.run_for(lifetime - Duration{1000});
  net.send_raw(kClient, kServer, req);
  net.settle();
  EXPECT_EQ(handler.calls, 1);
  net.run_for(Duration{2000});
  net.send_raw(kClient, kServer, req);
  net.settle();
  EXPECT_EQ(handler.calls, 2);
  EXPECT_EQ(net.raw_inbox(kClient).size(), 3u);
}

TEST(DatagramLayer, ThePeersDedupCacheKeepsItsNewestRepliesWithinItsByteBudget) {
  // A client that sends 1,000 requests, one after the other, within EXCHANGE_LIFETIME:
  // the cache does not hold 1,000 replies (nor 256), only the newest that fit the budget.
  SimNetwork net;
  Node server({}, 2);
  net.add(kServer, server);
  net.add_raw(kClient);
  EchoServer handler(server, net);
  auto request = [](std::uint16_t mid) {
    Message req = sim::get("/u");
    req.message_id = mid;
    req.token = {static_cast<std::uint8_t>(mid >> 8), static_cast<std::uint8_t>(mid)};
    return req;
  };
  for (int n = 1; n <= 1000; ++n) {
    const auto mid = static_cast<std::uint16_t>(n);
    net.send_raw(kClient, kServer, request(mid));
    net.settle();
  }
  ASSERT_EQ(handler.calls, 1000);
  ASSERT_EQ(net.raw_inbox(kClient).size(), 1000u);
  // The latest ones are repeated from the cache, byte for byte, without the handler.
  std::size_t replies = 1000;
  for (const std::uint16_t mid : {std::uint16_t{1000}, std::uint16_t{999}, std::uint16_t{998}}) {
    net.send_raw(kClient, kServer, request(mid));
    net.settle();
    EXPECT_EQ(handler.calls, 1000) << mid;
    ASSERT_EQ(net.raw_inbox(kClient).size(), ++replies) << mid;
    EXPECT_EQ(net.raw_inbox(kClient).back().bytes,
              net.raw_inbox(kClient)[static_cast<std::size_t>(mid) - 1].bytes);
  }
  // One 200 requests back has left the cache (512 bytes hold about six small replies; a
  // count of 256 would still have held it), but its ID is still known: a late copy is
  // dropped, not handled a second time.
  net.send_raw(kClient, kServer, request(800));
  net.settle();
  EXPECT_EQ(handler.calls, 1000);
  EXPECT_EQ(net.raw_inbox(kClient).size(), replies);
  // Once EXCHANGE_LIFETIME has passed, the peer is forgotten altogether.
  net.run_for(TransmissionParameters::udp().exchange_lifetime() + Duration{1000});
  EXPECT_EQ(server.endpoint.message_layer().peer_count(), 0u);
}

TEST(DatagramLayer, AReplyStillBeingWorkedOnIsNotPushedOutOfTheCache) {
  // The first request's handler answers late; many answered at once come after it. A copy
  // of the first must still find it in progress, not start the handler again.
  SimNetwork net;
  Node server({}, 2);
  net.add(kServer, server);
  net.add_raw(kClient);
  int calls = 0;
  std::optional<Responder> slow;
  server.endpoint.set_request_handler([&](PeerId, const Message& req, Responder r) {
    ++calls;
    if (req.path() == "/slow") {
      slow = r;
      return;
    }
    r.respond(make_response(req, codes::kChanged), net.now());
  });
  Message first = make_request(codes::kPost, "/slow");
  first.message_id = 1;
  first.token = {1};
  net.send_raw(kClient, kServer, first);
  net.settle();
  for (std::uint16_t mid = 2; mid <= 40; ++mid) {
    Message req = make_request(codes::kPost, "/fast");
    req.message_id = mid;
    req.token = {static_cast<std::uint8_t>(mid)};
    net.send_raw(kClient, kServer, req);
    net.settle();
  }
  net.send_raw(kClient, kServer, first);
  net.settle();
  EXPECT_EQ(calls, 40);
  ASSERT_TRUE(slow.has_value());
}

TEST(DatagramLayer, NstartOneHoldsTheSecondConUntilTheFirstIsAcknowledged) {
  SimNetwork net;
  Node client({}, 1);
  net.add(kClient, client);
  net.add_raw(kServer);
  Recorder a, b;
  client.endpoint.request(kServer, sim::get("/a"), a.handler(), net.now());
  client.endpoint.request(kServer, sim::get("/b"), b.handler(), net.now());
  net.settle();
  ASSERT_EQ(net.raw_inbox(kServer).size(), 1u);
  const Message first = *net.raw_inbox(kServer)[0].message;
  EXPECT_EQ(first.path(), "/a");
  net.run_for(Duration{1000});
  EXPECT_EQ(net.raw_inbox(kServer).size(), 1u);

  Message ack;
  ack.type = Type::kAcknowledgement;
  ack.message_id = first.message_id;
  net.send_raw(kServer, kClient, ack);
  net.settle();
  ASSERT_EQ(net.raw_inbox(kServer).size(), 2u);
  EXPECT_EQ(net.raw_inbox(kServer)[1].message->path(), "/b");
  EXPECT_NE(net.raw_inbox(kServer)[1].message->message_id, first.message_id);
  // The first request still waits for its separate response.
  EXPECT_EQ(client.endpoint.pending_requests(), 2u);
  EXPECT_EQ(a.size(), 0u);
}

TEST(DatagramLayer, NonConfirmableRequestsAreNotHeldByNstart) {
  SimNetwork net;
  Node client({}, 1);
  net.add(kClient, client);
  net.add_raw(kServer);
  Recorder rec;
  for (int i = 0; i < 3; ++i) {
    client.endpoint.request(kServer, sim::get("/n", Type::kNonConfirmable), rec.handler(),
                            net.now());
  }
  net.settle();
  EXPECT_EQ(net.raw_inbox(kServer).size(), 3u);
}

TEST(DatagramLayer, PingIsAnsweredWithReset) {
  SimNetwork net;
  Node client({}, 1), server({}, 2);
  net.add(kClient, client);
  net.add(kServer, server);
  int calls = 0;
  server.endpoint.set_request_handler([&](PeerId, const Message&, Responder) { ++calls; });
  Recorder rec;
  client.endpoint.ping(kServer, rec.handler(), net.now());
  net.settle();
  ASSERT_EQ(rec.size(), 1u);
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec.message().type, Type::kReset);
  EXPECT_EQ(calls, 0);
  ASSERT_EQ(net.log().size(), 2u);
  EXPECT_TRUE(sim::is_type(net.log()[0], Type::kConfirmable));
  EXPECT_TRUE(net.log()[0].message->code.is_empty());
  EXPECT_TRUE(sim::is_type(net.log()[1], Type::kReset));
  EXPECT_EQ(net.log()[1].message->message_id, net.log()[0].message->message_id);
  EXPECT_EQ(client.endpoint.pending_requests(), 0u);
}

TEST(DatagramLayer, ConcurrentPingsToOnePeerAreAllAnswered) {
  SimNetwork net;
  Node client({}, 1), server({}, 2);
  net.add(kClient, client);
  net.add(kServer, server);
  Recorder first, second;
  client.endpoint.ping(kServer, first.handler(), net.now());
  client.endpoint.ping(kServer, second.handler(), net.now());
  net.run_for(Duration{200'000});
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_TRUE(first.ok() && first.message().type == Type::kReset);
  EXPECT_TRUE(second.ok() && second.message().type == Type::kReset);
  EXPECT_EQ(client.endpoint.pending_requests(), 0u);
}

TEST(DatagramLayer, PingOfASilentPeerFails) {
  SimNetwork net;
  Node client({}, 1);
  net.add(kClient, client);
  net.add_raw(kServer);
  Recorder rec;
  client.endpoint.ping(kServer, rec.handler(), net.now());
  net.run_for(Duration{100'000});
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_FALSE(rec.ok());
  EXPECT_EQ(net.raw_inbox(kServer).size(), 5u);
}

TEST(DatagramLayer, MalformedConIsRejectedWithResetOfTheSameMid) {
  SimNetwork net;
  Node server({}, 2);
  net.add(kServer, server);
  net.add_raw(kClient);
  int calls = 0;
  server.endpoint.set_request_handler([&](PeerId, const Message&, Responder) { ++calls; });
  // Version 1, CON, TKL 9 (reserved), GET, MID 0xbeef.
  net.send_raw(kClient, kServer, Bytes{0x49, 0x01, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  net.settle();
  ASSERT_EQ(net.raw_inbox(kClient).size(), 1u);
  const Packet& rst = net.raw_inbox(kClient)[0];
  ASSERT_TRUE(rst.message.has_value());
  EXPECT_EQ(rst.message->type, Type::kReset);
  EXPECT_EQ(rst.message->message_id, 0xbeef);
  EXPECT_EQ(rst.bytes.size(), 4u);
  // A malformed NON, or garbage, is dropped silently.
  net.send_raw(kClient, kServer, Bytes{0x59, 0x01, 0xbe, 0xf0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  net.send_raw(kClient, kServer, Bytes{0x40});
  net.settle();
  EXPECT_EQ(net.raw_inbox(kClient).size(), 1u);
  EXPECT_EQ(calls, 0);
}

TEST(DatagramLayer, ResponseWithUnknownTokenIsRejected) {
  SimNetwork net;
  Node client({}, 1);
  net.add(kClient, client);
  net.add_raw(kServer);
  Message stray;
  stray.type = Type::kConfirmable;
  stray.code = codes::kContent;
  stray.message_id = 0x1111;
  stray.token = {0xde, 0xad};
  net.send_raw(kServer, kClient, stray);
  net.settle();
  ASSERT_EQ(net.raw_inbox(kServer).size(), 1u);
  EXPECT_TRUE(sim::is_type(net.raw_inbox(kServer)[0], Type::kReset));
  EXPECT_EQ(net.raw_inbox(kServer)[0].message->message_id, 0x1111);

  // An ACK for a MID we never used is ignored.
  Message ack;
  ack.type = Type::kAcknowledgement;
  ack.message_id = 0x2222;
  net.send_raw(kServer, kClient, ack);
  net.settle();
  EXPECT_EQ(net.raw_inbox(kServer).size(), 1u);
}

// Runs one GET under a fault model; the handler must run once and one response arrive.
void expect_exactly_once(const std::function<void(SimNetwork&)>& faults, Type type) {
  SimNetwork net;
  net.set_latency(Duration{20});
  Node client({}, 11), server({}, 12);
  net.add(kClient, client);
  net.add(kServer, server);
  EchoServer handler(server, net);
  faults(net);
  Recorder rec;
  client.endpoint.request(kServer, sim::get("/once", type), rec.handler(), net.now());
  net.run_for(Duration{300'000});
  EXPECT_EQ(handler.calls, 1);
  ASSERT_EQ(rec.size(), 1u);
  ASSERT_TRUE(rec.ok()) << rec.results[0].error().reason;
  EXPECT_EQ(to_string(rec.message().payload), "hello /once");
  EXPECT_EQ(client.endpoint.pending_requests(), 0u);
}

TEST(DatagramLayer, LostRequestIsRetransmitted) {
  expect_exactly_once([](SimNetwork& net) { net.drop_nth(1); }, Type::kConfirmable);
  expect_exactly_once(
      [](SimNetwork& net) {
        net.drop_nth(1);
        net.drop_nth(2);
      },
      Type::kConfirmable);
}

TEST(DatagramLayer, LostPiggybackedResponseIsRepeatedFromTheCache) {
  expect_exactly_once([](SimNetwork& net) { net.drop_nth(2); }, Type::kConfirmable);
  expect_exactly_once(
      [](SimNetwork& net) {
        net.drop_if([](const Packet& p) { return p.from == kServer && p.seq < 6; });
      },
      Type::kConfirmable);
}

TEST(DatagramLayer, DuplicatedDatagramsChangeNothing) {
  expect_exactly_once([](SimNetwork& net) { net.duplicate_if([](const Packet&) { return true; }); },
                      Type::kConfirmable);
  expect_exactly_once([](SimNetwork& net) { net.duplicate_if([](const Packet&) { return true; }); },
                      Type::kNonConfirmable);
}

TEST(DatagramLayer, DelayedCopiesArriveOutOfOrder) {
  // The copy of the request arrives after the response and after a retransmission.
  expect_exactly_once(
      [](SimNetwork& net) {
        net.duplicate_if([](const Packet& p) { return p.seq == 1; });
        net.delay_by([](const Packet& p) { return p.seq == 1 ? Duration{5000} : Duration{0}; });
      },
      Type::kConfirmable);
}

TEST(DatagramLayer, ConcurrentRequestsReorderedAreMatchedByToken) {
  SimNetwork net;
  EndpointConfig cfg;
  cfg.datagram.params.nstart = 4;
  Node client(cfg, 1), server({}, 2);
  net.add(kClient, client);
  net.add(kServer, server);
  EchoServer handler(server, net);
  // The first request and its answer are slow: answers arrive in the opposite order.
  net.delay_by([](const Packet& p) {
    return p.message && p.message->path() == "/first" ? Duration{500} : Duration{10};
  });
  Recorder first, second;
  client.endpoint.request(kServer, sim::get("/first"), first.handler(), net.now());
  client.endpoint.request(kServer, sim::get("/second"), second.handler(), net.now());
  net.run_for(Duration{1000});
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(to_string(first.message().payload), "hello /first");
  EXPECT_EQ(to_string(second.message().payload), "hello /second");
  EXPECT_EQ(handler.calls, 2);
}

TEST(DatagramLayer, IdlePeersAreForgottenAfterExchangeLifetime) {
  SimNetwork net;
  Node client({}, 1), server({}, 2);
  net.add(kClient, client);
  net.add(kServer, server);
  EchoServer handler(server, net);
  Recorder rec;
  client.endpoint.request(kServer, sim::get("/x"), rec.handler(), net.now());
  net.settle();
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(server.endpoint.message_layer().peer_count(), 1u);
  const Duration lifetime = TransmissionParameters::udp().exchange_lifetime();
  net.run_for(lifetime - Duration{1});
  EXPECT_EQ(server.endpoint.message_layer().peer_count(), 1u);
  net.run_for(Duration{2});
  EXPECT_EQ(server.endpoint.message_layer().peer_count(), 0u);
  EXPECT_EQ(client.endpoint.message_layer().peer_count(), 0u);
}

TEST(DatagramLayer, PeerSentOnlyNonMessagesIsForgottenToo) {
  SimNetwork net;
  Node client({}, 1);
  net.add(kClient, client);
  net.add_raw(kServer);
  Recorder rec;
  client.endpoint.request(kServer, sim::get("/n", Type::kNonConfirmable), rec.handler(), net.now(),
                          RequestOptions{std::nullopt, Duration{5000}});
  net.run_for(Duration{10'000});
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_FALSE(rec.ok());
  net.run_for(TransmissionParameters::udp().exchange_lifetime());
  EXPECT_EQ(client.endpoint.message_layer().peer_count(), 0u);
}

TEST(DatagramLayer, QueueOverflowFailsTheRequest) {
  SimNetwork net;
  EndpointConfig cfg;
  cfg.datagram.max_queued_per_peer = 2;
  Node client(cfg, 1);
  net.add(kClient, client);
  net.add_raw(kServer);
  std::vector<Recorder> recs(4);
  for (auto& r : recs) client.endpoint.request(kServer, sim::get("/q"), r.handler(), net.now());
  net.settle();
  EXPECT_EQ(net.raw_inbox(kServer).size(), 1u);
  EXPECT_EQ(recs[0].size(), 0u);
  EXPECT_EQ(recs[1].size(), 0u);
  EXPECT_EQ(recs[2].size(), 0u);
  ASSERT_EQ(recs[3].size(), 1u);
  EXPECT_FALSE(recs[3].ok());
  EXPECT_NE(recs[3].results[0].error().reason.find("too many"), std::string::npos);
  EXPECT_EQ(client.endpoint.pending_requests(), 3u);
}

TEST(DatagramLayer, ClosingAPeerFailsItsPendingRequests) {
  SimNetwork net;
  Node client({}, 1);
  net.add(kClient, client);
  net.add_raw(kServer);
  Recorder a, b;
  client.endpoint.request(kServer, sim::get("/a"), a.handler(), net.now());
  client.endpoint.request(kServer, sim::get("/b"), b.handler(), net.now());
  net.settle();
  client.endpoint.close(kServer, net.now());
  net.settle();
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_FALSE(a.ok());
  EXPECT_FALSE(b.ok());
  EXPECT_EQ(client.endpoint.pending_requests(), 0u);
  EXPECT_EQ(client.endpoint.message_layer().peer_count(), 0u);
  net.run_for(Duration{100'000});
  EXPECT_EQ(net.raw_inbox(kServer).size(), 1u);  // no retransmissions after close
}

TEST(DatagramLayer, NonRequestGetsNonResponse) {
  SimNetwork net;
  Node client({}, 1), server({}, 2);
  net.add(kClient, client);
  net.add(kServer, server);
  EchoServer handler(server, net);
  Recorder rec;
  client.endpoint.request(kServer, sim::get("/n", Type::kNonConfirmable), rec.handler(), net.now());
  net.settle();
  ASSERT_EQ(rec.size(), 1u);
  ASSERT_EQ(net.log().size(), 2u);
  EXPECT_TRUE(sim::is_type(net.log()[0], Type::kNonConfirmable));
  EXPECT_TRUE(sim::is_type(net.log()[1], Type::kNonConfirmable));
}

TEST(DatagramLayer, NonRequestWithoutAnswerTimesOut) {
  SimNetwork net;
  Node client({}, 1);
  net.add(kClient, client);
  net.add_raw(kServer);
  Recorder rec;
  const Instant start = net.now();
  Instant failed_at{};
  client.endpoint.request(
      kServer, sim::get("/n", Type::kNonConfirmable),
      [&](Result<Message> r) {
        failed_at = net.now();
        rec.results.push_back(std::move(r));
      },
      net.now(), RequestOptions{std::nullopt, Duration{30'000}});
  net.run_for(Duration{100'000});
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_FALSE(rec.ok());
  EXPECT_EQ(failed_at - start, Duration{30'000});
  EXPECT_EQ(net.raw_inbox(kServer).size(), 1u);
}

}  // namespace
}  // namespace tether::coap
