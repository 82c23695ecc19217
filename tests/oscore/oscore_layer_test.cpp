// OSCORE under two CoAP endpoints on the simulated network: what crosses the wire is
// protected (an onlooker sees POST/FETCH, no path, no payload), the endpoints above see
// plain requests and responses, Observe and block-wise work through it, and the refusals
// of RFC 8613 8.2 reach raw senders unprotected.
#include <gtest/gtest.h>

#include <set>

#include "coap/endpoint.hpp"
#include "coap/sim_network.hpp"
#include "coap/udp_codec.hpp"
#include "oscore/context_pair.hpp"
#include "oscore/oscore_layer.hpp"

namespace tether::oscore {
namespace {

using coap::Message;
using coap::PeerId;
using coap::sim::Packet;
namespace codes = coap::codes;

using fixture::kClient;
using fixture::kServer;
using fixture::side;

// Our client and server under one context pair; the server's context has proved the
// freshness of RFC 8613 B.1.2 already unless `fresh_server` (a server just started).
struct Protected {
  explicit Protected(coap::Carrier carrier = coap::Carrier::kDatagram,
                     std::size_t max_bindings = 65'536, bool fresh_server = false)
      : net(carrier),
        carrier_(carrier),
        max_bindings_(max_bindings),
        client_context(
            std::make_shared<SecurityContext>(*SecurityContext::derive(side(0xc1, 0x5e)))),
        server_context(
            std::make_shared<SecurityContext>(*SecurityContext::derive(side(0x5e, 0xc1)))),
        client(config_for_client(), 1),
        server(config_for_server(), 2) {
    if (!fresh_server) server_context->prove_freshness();
    net.add(kClient, client);
    net.add(kServer, server);
    server.endpoint.set_request_handler([this](PeerId, const Message& req, coap::Responder r) {
      ++handled;
      seen.push_back(req);
      Message answer = coap::make_response(req, codes::kContent);
      if (req.path() == "/large") {
        answer.payload = Bytes(3000, 0x42);
      } else {
        answer.payload = to_bytes("value of " + req.path());
      }
      if (req.observe() == 0u) answer.set_observe(0);
      observation = r.respond(std::move(answer), net.now());
    });
  }
  coap::EndpointConfig config_for_client() {
    OscorePeers peers;
    peers.context_for_peer = [this](PeerId p) { return p == kServer ? client_context : nullptr; };
    coap::EndpointConfig c;
    c.carrier = carrier_;
    c.decorator = std::make_shared<OscoreDecorator>(peers);
    return c;
  }
  coap::EndpointConfig config_for_server() {
    OscorePeers peers;
    peers.lookup = [this](ByteView kid, std::optional<ByteView>) {
      return Bytes(kid.begin(), kid.end()) == Bytes{0xc1} ? server_context : nullptr;
    };
    peers.on_verified = [this](PeerId p, const SharedContext&) { verified_peers.push_back(p); };
    peers.max_bindings = max_bindings_;
    coap::EndpointConfig c;
    c.carrier = carrier_;
    c.decorator = std::make_shared<OscoreDecorator>(peers);
    return c;
  }
  coap::sim::Recorder get(const std::string& path, bool observe = false) {
    coap::sim::Recorder rec;
    Message m = coap::make_request(codes::kGet, path);
    if (observe) m.set_observe(0);
    client.endpoint.request(kServer, std::move(m), rec.handler(), net.now());
    net.run_for(Duration{5'000});
    return rec;
  }
  std::vector<Packet> from(PeerId p) const { return net.sent(p); }

  coap::sim::SimNetwork net;
  coap::Carrier carrier_;
  std::size_t max_bindings_;
  SharedContext client_context;
  SharedContext server_context;
  coap::sim::Node client;
  coap::sim::Node server;
  int handled = 0;
  std::vector<Message> seen;
  std::vector<PeerId> verified_peers;
  std::optional<coap::ObservationId> observation;
};

TEST(OscoreLayer, OnlookersSeeNeitherPathNorPayload) {
  Protected t;
  auto rec = t.get("/3/0/0");
  ASSERT_EQ(rec.size(), 1u);
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec.message().code, codes::kContent);
  EXPECT_EQ(to_string(rec.message().payload), "value of /3/0/0");
  ASSERT_EQ(t.seen.size(), 1u);
  EXPECT_EQ(t.seen[0].path(), "/3/0/0");
  EXPECT_EQ(t.verified_peers, std::vector<PeerId>{kClient});
  for (const auto& p : t.net.log()) {
    ASSERT_TRUE(p.message);
    EXPECT_TRUE(p.message->options.has(kOscoreOption));
    EXPECT_EQ(p.message->path(), "/");
    EXPECT_EQ(to_string(p.bytes).find("value of"), std::string::npos);
  }
  EXPECT_EQ(t.from(kClient).front().message->code, codes::kPost);
  EXPECT_EQ(t.from(kServer).front().message->code, codes::kChanged);
}

TEST(OscoreLayer, ObserveAndBlockWiseWorkThroughIt) {
  Protected t;
  auto rec = t.get("/3303/0/5700", true);
  ASSERT_TRUE(t.observation.has_value());
  for (int i = 0; i < 3; ++i) {
    Message n;
    n.code = codes::kContent;
    n.payload = to_bytes("notification " + std::to_string(i));
    ASSERT_TRUE(t.server.endpoint.notify(*t.observation, n, coap::Type::kConfirmable, t.net.now()));
    t.net.run_for(Duration{2'000});
  }
  ASSERT_EQ(rec.size(), 4u);
  EXPECT_EQ(to_string(rec.message(3).payload), "notification 2");
  // Each notification has a Partial IV of its own (RFC 8613 4.1.3.5.2).
  std::set<Bytes> pivs;
  for (const auto& p : t.from(kServer)) {
    if (!p.message || p.message->code.is_empty()) continue;
    auto ov = decode_option(p.message->options.find(kOscoreOption)->value);
    ASSERT_TRUE(ov);
    ASSERT_TRUE(ov->partial_iv.has_value());
    pivs.insert(*ov->partial_iv);
  }
  EXPECT_EQ(pivs.size(), 4u);

  auto large = t.get("/large");
  ASSERT_EQ(large.size(), 1u);
  ASSERT_TRUE(large.ok());
  EXPECT_EQ(large.message().payload, Bytes(3000, 0x42));
}

// A protected notification for a token the client's endpoint observes but its OSCORE layer
// never protected (an observation made before a restart) cannot be verified: nothing above
// sees it, and the client resets it.
TEST(OscoreLayer, ProtectedNotificationsOfUnknownRequestsAreReset) {
  Protected t;
  const SharedContext context = t.client_context;
  t.client_context = nullptr;  // the observation is made in plain CoAP
  auto rec = t.get("/3303/0/5700", true);
  ASSERT_EQ(rec.size(), 1u);
  const Bytes token = t.from(kClient).back().message->token;
  t.client_context = context;
  Message n = coap::make_response(coap::make_request(codes::kGet, "/"), codes::kContent);
  n.type = coap::Type::kConfirmable;
  n.token = token;
  n.message_id = 777;
  n.set_observe(5);
  n.payload = to_bytes("forged");
  auto sealed = protect_response(
      *t.server_context, RequestBinding{*ShortBytes::of(Bytes{0xc1}), *ShortBytes::of(Bytes{0x00})},
      n, true);
  ASSERT_TRUE(sealed);
  t.net.add_raw(kServer);
  t.net.send_raw(kServer, kClient, *sealed);
  t.net.run_for(Duration{1'000});
  ASSERT_FALSE(t.net.raw_inbox(kServer).empty());
  EXPECT_EQ(t.net.raw_inbox(kServer).back().message->type, coap::Type::kReset);
  EXPECT_EQ(t.net.raw_inbox(kServer).back().message->message_id, 777);
  EXPECT_EQ(rec.size(), 1u);  // no notification reached the observer
}

// The layer is carrier-neutral: over CoAP/TCP (RFC 8323) the same protection, CSM and the
// other signals left alone.
TEST(OscoreLayer, WorksOverCoapTcp) {
  Protected t(coap::Carrier::kStream);
  auto rec = t.get("/3/0/0");
  ASSERT_EQ(rec.size(), 1u);
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(to_string(rec.message().payload), "value of /3/0/0");
  auto large = t.get("/large");
  ASSERT_TRUE(large.ok());
  EXPECT_EQ(large.message().payload, Bytes(3000, 0x42));
  std::size_t protected_messages = 0;
  for (const auto& p : t.net.log()) {
    if (!p.message || p.message->code.is_signaling()) continue;
    EXPECT_TRUE(p.message->options.has(kOscoreOption));
    EXPECT_EQ(p.message->path(), "/");
    ++protected_messages;
  }
  EXPECT_GE(protected_messages, 4u);
}

TEST(OscoreLayer, RawSendersGetTheRefusalsOfSection8) {
  Protected t;
  ASSERT_TRUE(t.get("/3/0/0").ok());
  const Packet original = t.from(kClient).front();
  t.net.add_raw(kClient);
  auto resend = [&](Message m, std::uint16_t mid) {
    m.message_id = mid;
    t.net.send_raw(kClient, kServer, m);
    t.net.run_for(Duration{1'000});
    return *t.net.raw_inbox(kClient).back().message;
  };
  // The captured request again under a new MID: a replay, refused unprotected.
  Message replay = resend(*original.message, 900);
  EXPECT_EQ(replay.code, codes::kUnauthorized);
  EXPECT_EQ(to_string(replay.payload), "Replay detected");
  EXPECT_FALSE(replay.options.has(kOscoreOption));
  // The same ciphertext under a Partial IV not seen yet: it does not decrypt.
  Message altered = *original.message;
  auto ov = decode_option(altered.options.find(kOscoreOption)->value);
  ASSERT_TRUE(ov);
  ov->partial_iv = Bytes{0x7f};
  altered.options.set(kOscoreOption, encode_option(*ov));
  Message refused = resend(altered, 901);
  EXPECT_EQ(refused.code, codes::kBadRequest);
  EXPECT_EQ(to_string(refused.payload), "Decryption failed");
  // A plain request, where plain CoAP is allowed, reaches the handler.
  EXPECT_EQ(resend(coap::make_request(codes::kGet, "/plain"), 902).code, codes::kContent);
  EXPECT_EQ(t.handled, 2);
}

// Observations keep their bindings; a peer cannot make them grow without bound.
TEST(OscoreLayer, BindingsOfPeersRequestsAreBounded) {
  Protected t(coap::Carrier::kDatagram, 2);
  EXPECT_TRUE(t.get("/a", true).ok());
  EXPECT_TRUE(t.get("/b", true).ok());
  auto third = t.get("/c", true);
  ASSERT_EQ(third.size(), 1u);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third.message().code, codes::kServiceUnavailable);
  EXPECT_EQ(t.handled, 2);
}

// RFC 8613 B.1.2: a server that (re)started has no replay window from before; the first
// request under a context must echo a value it made up before anything is acted on, so a
// request recorded before the restart cannot run again.
TEST(OscoreLayer, AFreshContextAsksForEchoBeforeActing) {
  Protected t(coap::Carrier::kDatagram, 65'536, true);
  auto rec = t.get("/3/0/0");
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(to_string(rec.message().payload), "value of /3/0/0");
  EXPECT_EQ(t.handled, 1);
  EXPECT_FALSE(t.seen[0].options.has(coap::option::kEcho));  // consumed by the layer
  const auto requests = t.from(kClient);
  ASSERT_EQ(requests.size(), 2u);  // the request, then again with the Echo
  // The server restarts: a new context from the same keys, no window. The recorded,
  // echoed request is fresh to the window but echoes nothing this life asked for.
  t.server_context = std::make_shared<SecurityContext>(*SecurityContext::derive(side(0x5e, 0xc1)));
  t.net.add_raw(kClient);
  Message replay = *requests[1].message;
  replay.message_id = 4242;
  t.net.send_raw(kClient, kServer, replay);
  t.net.run_for(Duration{1'000});
  ASSERT_FALSE(t.net.raw_inbox(kClient).empty());
  EXPECT_TRUE(t.net.raw_inbox(kClient).back().message->options.has(kOscoreOption));
  EXPECT_EQ(t.handled, 1);  // the handler did not run again
  // The client goes on and proves freshness with a higher number; from then on the numbers
  // below it, recorded before the restart, are replays even where the new window never saw
  // them.
  auto ask = [&](std::uint16_t mid, const Bytes& echo) {
    Message m = coap::make_request(codes::kGet, "/3/0/1");
    m.message_id = mid;
    m.token = {0x42, static_cast<std::uint8_t>(mid)};
    if (!echo.empty()) m.options.set(coap::option::kEcho, echo);
    auto p = protect_request(*t.client_context, m);
    EXPECT_TRUE(p);
    t.net.send_raw(kClient, kServer, p->message);
    t.net.run_for(Duration{1'000});
    return unprotect_response(*t.client_context, p->binding,
                              *t.net.raw_inbox(kClient).back().message);
  };
  auto challenge = ask(5000, {});
  ASSERT_TRUE(challenge);
  ASSERT_EQ(challenge->code, codes::kUnauthorized);
  const coap::Option* echo = challenge->options.find(coap::option::kEcho);
  ASSERT_NE(echo, nullptr);
  auto answer = ask(5001, echo->value.bytes());
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->code, codes::kContent);
  EXPECT_EQ(t.handled, 2);
  Message older = *requests[0].message;
  older.message_id = 4243;
  t.net.send_raw(kClient, kServer, older);
  t.net.run_for(Duration{1'000});
  EXPECT_EQ(to_string(t.net.raw_inbox(kClient).back().message->payload), "Replay detected");
  EXPECT_EQ(t.handled, 2);
}

// The Echo value asked for stays until it is answered: requests recorded before the restart,
// replayed meanwhile, get the same challenge and cannot spoil the client's answer.
TEST(OscoreLayer, AReplayDoesNotSpoilAPendingEchoChallenge) {
  Protected t(coap::Carrier::kDatagram, 65'536, true);
  t.net.add_raw(kClient);
  auto request = [](std::uint16_t mid, const Bytes& echo) {
    Message m = coap::make_request(codes::kGet, "/3/0/1");
    m.message_id = mid;
    m.token = {0x42, static_cast<std::uint8_t>(mid)};
    if (!echo.empty()) m.options.set(coap::option::kEcho, echo);
    return m;
  };
  auto send = [&](const ProtectedRequest& p) {
    t.net.send_raw(kClient, kServer, p.message);
    t.net.run_for(Duration{1'000});
    return unprotect_response(*t.client_context, p.binding,
                              *t.net.raw_inbox(kClient).back().message);
  };
  auto recorded = protect_request(*t.client_context, request(100, {}));  // never sent
  ASSERT_TRUE(recorded);
  auto first = protect_request(*t.client_context, request(101, {}));
  ASSERT_TRUE(first);
  auto challenge = send(*first);
  ASSERT_TRUE(challenge);
  ASSERT_EQ(challenge->code, codes::kUnauthorized);
  const Bytes echo = challenge->options.find(coap::option::kEcho)->value.bytes();
  auto replayed = send(*recorded);  // an onlooker's replay: fresh to the new window
  ASSERT_TRUE(replayed);
  EXPECT_EQ(replayed->code, codes::kUnauthorized);
  EXPECT_EQ(replayed->options.find(coap::option::kEcho)->value, echo);
  EXPECT_EQ(t.handled, 0);
  auto answer = protect_request(*t.client_context, request(102, echo));
  ASSERT_TRUE(answer);
  auto served = send(*answer);
  ASSERT_TRUE(served);
  EXPECT_EQ(served->code, codes::kContent);
  EXPECT_EQ(t.handled, 1);
}

TEST(OscoreLayer, PeersWithAContextMustUseIt) {
  Protected t;
  // The client side refuses a plain request from the server it holds a context for.
  t.net.add_raw(kServer);
  Message plain = coap::make_request(codes::kPut, "/3/0/13");
  plain.message_id = 77;
  t.net.send_raw(kServer, kClient, plain);
  t.net.run_for(Duration{1'000});
  ASSERT_FALSE(t.net.raw_inbox(kServer).empty());
  EXPECT_EQ(t.net.raw_inbox(kServer).back().message->code, codes::kUnauthorized);
  EXPECT_EQ(to_string(t.net.raw_inbox(kServer).back().message->payload), "OSCORE required");
}

}  // namespace
}  // namespace tether::oscore
