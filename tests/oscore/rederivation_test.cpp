// RFC 8613 Appendix B.2: a client that keeps no sequence numbers across restarts agrees a new
// ID Context with the server before anything is acted on, over two CoAP endpoints on the
// simulated network, with our keyrings on both sides; recorded messages do not run again.
#include <gtest/gtest.h>

#include <set>

#include "coap/endpoint.hpp"
#include "coap/sim_network.hpp"
#include "oscore/context_pair.hpp"
#include "oscore/keyring.hpp"

namespace tether::oscore {
namespace {

using coap::Message;
using coap::PeerId;
using coap::sim::Packet;
namespace codes = coap::codes;

using fixture::kClient;
using fixture::kServer;
using fixture::side;

coap::EndpointConfig config(Keyring& ring) {
  coap::EndpointConfig c;
  c.decorator = std::make_shared<OscoreDecorator>(ring.peers("coap"));
  return c;
}

std::optional<OptionValue> oscore_option(const Packet& p) {
  const coap::Option* o = p.message->options.find(kOscoreOption);
  if (o == nullptr) return std::nullopt;
  auto v = decode_option(o->value);
  return v ? std::optional<OptionValue>(*v) : std::nullopt;
}

struct Rederiving {
  Rederiving() {
    client_ring.rederive_on_start(true);
    EXPECT_TRUE(client_ring.put("server", side(0xc1, 0x5e)));
    client_ring.bind("coap", kServer, "server");
    EXPECT_TRUE(server_ring.put("dev", side(0x5e, 0xc1)));
    net.add(kClient, client);
    net.add(kServer, server);
    server.endpoint.set_request_handler([this](PeerId, const Message& req, coap::Responder r) {
      ++handled;
      r.respond(coap::make_response(req, codes::kContent), net.now());
    });
  }
  coap::sim::Recorder get(const std::string& path) {
    coap::sim::Recorder rec;
    client.endpoint.request(kServer, coap::make_request(codes::kGet, path), rec.handler(),
                            net.now());
    net.run_for(Duration{5'000});
    return rec;
  }
  Message resend_raw(const Packet& p, std::uint16_t mid) {
    Message m = *p.message;
    m.message_id = mid;
    net.send_raw(kClient, kServer, m);
    net.run_for(Duration{1'000});
    return *net.raw_inbox(kClient).back().message;
  }

  Keyring client_ring;
  Keyring server_ring;
  coap::sim::SimNetwork net{coap::Carrier::kDatagram};
  coap::sim::Node client{config(client_ring), 1};
  coap::sim::Node server{config(server_ring), 2};
  int handled = 0;
};

TEST(OscoreRederivation, AClientWithoutStateAgreesANewIdContextFirst) {
  Rederiving t;
  auto first = t.get("/3/0/0");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first.message().code, codes::kContent);
  EXPECT_EQ(t.handled, 1);

  // Request #1 (kid context R1), Response #1 (4.01 naming R2), Request #2 (R2 || R3), its answer.
  const auto requests = t.net.sent(kClient);
  const auto responses = t.net.sent(kServer);
  ASSERT_EQ(requests.size(), 2u);
  ASSERT_EQ(responses.size(), 2u);
  auto r1 = oscore_option(requests[0]);
  auto answer1 = oscore_option(responses[0]);
  auto r2r3 = oscore_option(requests[1]);
  ASSERT_TRUE(r1 && answer1 && r2r3);
  ASSERT_TRUE(r1->kid_context && answer1->kid_context && r2r3->kid_context);
  const Bytes id1 = unwrap_kid_context(*r1->kid_context);
  const Bytes r2 = unwrap_kid_context(*answer1->kid_context);
  const Bytes id3 = unwrap_kid_context(*r2r3->kid_context);
  EXPECT_EQ(id1.size(), 8u);
  EXPECT_EQ(r2.size(), 8u);
  ASSERT_EQ(id3.size(), 16u);
  EXPECT_TRUE(std::equal(r2.begin(), r2.end(), id3.begin()));  // R2 || R3
  EXPECT_TRUE(answer1->partial_iv.has_value());                // Response #1 has a nonce of its own

  // Both sides now hold the agreed context; the configured input is unchanged (the endpoint's
  // identity), and the next request goes without re-derivation.
  const SharedContext agreed = t.server_ring.find("dev");
  ASSERT_TRUE(agreed->id_context());
  EXPECT_EQ(*agreed->id_context(), id3);
  EXPECT_FALSE(t.server_ring.input_of("dev")->id_context.has_value());
  EXPECT_EQ(*t.client_ring.find("server")->id_context(), id3);
  ASSERT_TRUE(t.get("/3/0/1").ok());
  EXPECT_EQ(t.handled, 2);
  const auto later = t.net.sent(kClient);
  ASSERT_EQ(later.size(), 3u);
  EXPECT_EQ(oscore_option(later[2])->kid_context, id3);  // plain bytes once agreed

  // Recorded messages run nothing: Request #1 starts another round (4.01, no action),
  // Request #2 is a replay under the agreed context.
  t.net.add_raw(kClient);
  const Message again1 = t.resend_raw(requests[0], 900);
  EXPECT_EQ(again1.code, codes::kChanged);  // the protected 4.01 of Response #1
  EXPECT_EQ(t.handled, 2);
  const Message again2 = t.resend_raw(requests[1], 901);
  EXPECT_EQ(again2.code, codes::kUnauthorized);
  EXPECT_EQ(to_string(again2.payload), "Replay detected");
  EXPECT_EQ(t.handled, 2);
  // The stray round left the agreed context in place.
  EXPECT_EQ(t.server_ring.find("dev"), agreed);
}

// Replays of an old Request #1 while the client re-derives make the server send other R2
// values, but the client's own R2 still holds. The client is played by hand here, so the
// replays land between its Request #1 and #2.
TEST(OscoreRederivation, ReplaysOfRequestOneDoNotVoidTheClientsR2) {
  Rederiving t;
  constexpr PeerId kHand = 11;
  t.net.add_raw(kHand);
  auto exchange = [&](const coap::Message& m) {
    t.net.send_raw(kHand, kServer, m);
    t.net.run_for(Duration{1'000});
    return *t.net.raw_inbox(kHand).back().message;
  };
  // A Request #1 recorded from some earlier life of the client.
  Keyring earlier;
  earlier.rederive_on_start(true);
  ASSERT_TRUE(earlier.put("server", side(0xc1, 0x5e)));
  auto old = protect_request(*earlier.find("server"), coap::make_request(codes::kGet, "/x"));
  ASSERT_TRUE(old);

  Keyring mine;
  mine.rederive_on_start(true);
  ASSERT_TRUE(mine.put("server", side(0xc1, 0x5e)));
  const OscorePeers peers = mine.peers("coap");
  const SharedContext first = mine.find("server");
  coap::Message get = coap::make_request(codes::kGet, "/3/0/0");
  get.message_id = 700;
  get.token = {7};
  auto request1 = protect_request(*first, get);
  ASSERT_TRUE(request1);
  const auto r2 = response_kid_context(exchange(request1->message));
  ASSERT_TRUE(r2);
  std::set<Bytes> replay_r2s;
  std::set<Bytes> replay_pivs;
  for (std::uint16_t i = 0; i < 3; ++i) {
    coap::Message replay = old->message;
    replay.message_id = static_cast<std::uint16_t>(600 + i);
    const coap::Message answer = exchange(replay);
    auto ov = decode_option(answer.options.find(kOscoreOption)->value);
    ASSERT_TRUE(ov && ov->kid_context && ov->partial_iv);
    replay_r2s.insert(unwrap_kid_context(*ov->kid_context));
    replay_pivs.insert(*ov->partial_iv);
  }
  // The same Request #1 again gets the same R2, each time under a new Partial IV.
  EXPECT_EQ(replay_r2s.size(), 1u);
  EXPECT_EQ(replay_pivs.size(), 3u);
  EXPECT_NE(*replay_r2s.begin(), *r2);
  Bytes id3 = *r2;
  for (std::uint8_t b = 0; b < 8; ++b) id3.push_back(b);  // R2 || R3
  const SharedContext agreed = peers.derive_with(first, id3);
  ASSERT_TRUE(agreed);
  agreed->set_rederiving(true);
  get.message_id = 701;
  auto request2 = protect_request(*agreed, get);
  ASSERT_TRUE(request2);
  auto answer = unprotect_response(*agreed, request2->binding, exchange(request2->message));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->code, codes::kContent);
  EXPECT_EQ(t.handled, 1);
}

// A client that re-derived once and later keeps its sequence numbers (it runs with --state)
// speaks under the configured context again: the server still has it, and uses it again.
TEST(OscoreRederivation, TheConfiguredContextServesAgainAfterARederivation) {
  Rederiving t;
  ASSERT_TRUE(t.get("/3/0/0").ok());
  ASSERT_TRUE(t.server_ring.find("dev")->id_context());  // re-derived
  constexpr PeerId kStateful = 12;
  t.net.add_raw(kStateful);
  Keyring stateful;
  ASSERT_TRUE(stateful.put("server", side(0xc1, 0x5e), 100));
  const SharedContext mine = stateful.find("server");
  auto ask = [&](std::uint16_t mid, const Bytes& echo) {
    coap::Message m = coap::make_request(codes::kGet, "/3/0/9");
    m.message_id = mid;
    m.token = {9, static_cast<std::uint8_t>(mid)};
    if (!echo.empty()) m.options.set(coap::option::kEcho, echo);
    auto p = protect_request(*mine, m);
    EXPECT_TRUE(p);
    t.net.send_raw(kStateful, kServer, p->message);
    t.net.run_for(Duration{1'000});
    return unprotect_response(*mine, p->binding, *t.net.raw_inbox(kStateful).back().message);
  };
  auto challenge = ask(800, {});  // the configured context has not seen this client yet
  ASSERT_TRUE(challenge);
  ASSERT_EQ(challenge->code, codes::kUnauthorized);
  auto served = ask(801, challenge->options.find(coap::option::kEcho)->value.bytes());
  ASSERT_TRUE(served);
  EXPECT_EQ(served->code, codes::kContent);
  EXPECT_EQ(t.handled, 2);
  EXPECT_FALSE(t.server_ring.find("dev")->id_context());  // the configured one is in use
}

TEST(OscoreRederivation, AServerThatDoesNotAllowItRefuses) {
  Rederiving t;
  t.server_ring.allow_rederivation(false);
  auto rec = t.get("/3/0/0");
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(t.handled, 0);
}

TEST(OscoreRederivation, AWrongSecretGetsNoR2) {
  Rederiving t;
  ContextInput wrong = side(0xc1, 0x5e);
  wrong.master_secret[0] ^= 0xff;
  ASSERT_TRUE(t.client_ring.put("server", wrong));
  auto rec = t.get("/3/0/0");
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_FALSE(rec.ok() && rec.message().code == codes::kContent);
  EXPECT_EQ(t.handled, 0);
  const auto responses = t.net.sent(kServer);
  ASSERT_FALSE(responses.empty());
  EXPECT_FALSE(responses[0].message->options.has(kOscoreOption));  // unprotected refusal
  EXPECT_EQ(responses[0].message->code, codes::kBadRequest);       // RFC 8613 8.2
  EXPECT_EQ(t.server_ring.find("dev")->id_context(), std::nullopt);
}

}  // namespace
}  // namespace tether::oscore
