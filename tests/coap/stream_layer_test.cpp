// RFC 8323 signaling over stream carriers: CSM, Ping/Pong keep-alive, Release and Abort.
#include <gtest/gtest.h>

#include <optional>

#include "coap/endpoint.hpp"
#include "coap/stream_layer.hpp"
#include "sim_network.hpp"

namespace tether::coap {
namespace {

using sim::Node;
using sim::Packet;
using sim::Recorder;
using sim::SimNetwork;

constexpr PeerId kClient = 1;
constexpr PeerId kServer = 2;

EndpointConfig tcp(StreamLayerConfig stream = {}) {
  EndpointConfig c;
  c.carrier = Carrier::kStream;
  c.stream = stream;
  return c;
}

StreamLayer& stream_of(Node& n) {
  return static_cast<StreamLayer&>(n.endpoint.message_layer());
}

Message signal(Code code, Bytes token = {}) {
  Message m;
  m.code = code;
  m.token = std::move(token);
  return m;
}

Message csm(std::size_t max_message_size = 1152, bool block_wise = true) {
  Message m = signal(codes::kCsm);
  m.options.add_uint(option::kCsmMaxMessageSize, max_message_size);
  if (block_wise) m.options.add(option::kCsmBlockWiseTransfer, Bytes{});
  return m;
}

bool is_close(const Packet& p) {
  return p.kind == Transmit::Kind::kClose;
}

// One endpoint talking to a scripted peer.
struct RawPeer {
  explicit RawPeer(StreamLayerConfig stream = {}) : net(Carrier::kStream), node(tcp(stream), 1) {
    net.add(kClient, node);
    net.add_raw(kServer);
    node.endpoint.set_request_handler([this](PeerId, const Message& req, Responder r) {
      ++calls;
      r.respond(make_response(req, codes::kContent), net.now());
    });
    net.connect(kClient, kServer);
  }
  std::vector<Packet>& inbox() { return net.raw_inbox(kServer); }
  void send(const Message& m) {
    net.send_raw(kServer, kClient, m);
    net.settle();
  }
  SimNetwork net;
  Node node;
  int calls = 0;
};

TEST(StreamLayer, BothSidesSendCsmFirstAndLearnCapabilities) {
  SimNetwork net(Carrier::kStream);
  StreamLayerConfig small;
  small.max_message_size = 2000;
  small.block_wise = false;
  StreamLayerConfig big;
  big.max_message_size = 5000;
  Node client(tcp(small), 1), server(tcp(big), 2);
  net.add(kClient, client);
  net.add(kServer, server);
  // Before any CSM arrives, RFC 8323 defaults apply.
  EXPECT_EQ(stream_of(client).peer_max_message_size(kServer), 1152u);
  EXPECT_FALSE(stream_of(client).peer_supports_block_wise(kServer));
  net.connect(kClient, kServer);

  auto from_client = net.sent(kClient);
  auto from_server = net.sent(kServer);
  ASSERT_FALSE(from_client.empty());
  ASSERT_FALSE(from_server.empty());
  EXPECT_TRUE(sim::is_code(from_client[0], codes::kCsm));
  EXPECT_TRUE(sim::is_code(from_server[0], codes::kCsm));
  EXPECT_EQ(from_client[0].message->options.get_uint(option::kCsmMaxMessageSize), 2000u);
  EXPECT_FALSE(from_client[0].message->options.has(option::kCsmBlockWiseTransfer));
  EXPECT_TRUE(from_server[0].message->options.has(option::kCsmBlockWiseTransfer));

  const PeerCapabilities* of_server = stream_of(client).capabilities(kServer);
  ASSERT_NE(of_server, nullptr);
  EXPECT_TRUE(of_server->csm_received);
  EXPECT_EQ(of_server->max_message_size, 5000u);
  EXPECT_TRUE(of_server->block_wise);
  const PeerCapabilities* of_client = stream_of(server).capabilities(kClient);
  ASSERT_NE(of_client, nullptr);
  EXPECT_EQ(of_client->max_message_size, 2000u);
  EXPECT_FALSE(of_client->block_wise);
  EXPECT_EQ(server.endpoint.message_layer().peer_max_message_size(kClient), 2000u);

  // A request sent right after connecting still goes after the CSM.
  Recorder rec;
  server.endpoint.set_request_handler([&](PeerId, const Message& req, Responder r) {
    r.respond(make_response(req, codes::kContent), net.now());
  });
  client.endpoint.request(kServer, sim::get("/x"), rec.handler(), net.now());
  net.settle();
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec.message().code, codes::kContent);
}

TEST(StreamLayer, RequestBeforeConnectSendsCsmFirst) {
  SimNetwork net(Carrier::kStream);
  Node client(tcp(), 1);
  net.add(kClient, client);
  net.add_raw(kServer);
  Recorder rec;
  client.endpoint.request(kServer, sim::get("/x"), rec.handler(), net.now());
  net.settle();
  auto& inbox = net.raw_inbox(kServer);
  ASSERT_EQ(inbox.size(), 2u);
  EXPECT_TRUE(sim::is_code(inbox[0], codes::kCsm));
  EXPECT_TRUE(sim::is_code(inbox[1], codes::kGet));
}

TEST(StreamLayer, FirstMessageOtherThanCsmAborts) {
  RawPeer p;
  Message get = sim::get("/x");
  get.token = {1};
  p.send(get);
  EXPECT_EQ(p.calls, 0);
  auto& inbox = p.inbox();
  ASSERT_EQ(inbox.size(), 3u);  // CSM, Abort, close
  EXPECT_TRUE(sim::is_code(inbox[1], codes::kAbort));
  EXPECT_FALSE(inbox[1].message->payload.empty());
  EXPECT_TRUE(is_close(inbox[2]));
  EXPECT_EQ(p.node.endpoint.message_layer().peer_count(), 0u);
}

TEST(StreamLayer, PingIsAnsweredWithPongOfTheSameToken) {
  RawPeer p;
  p.send(csm());
  p.send(signal(codes::kPing, {0xaa, 0xbb}));
  auto& inbox = p.inbox();
  ASSERT_EQ(inbox.size(), 2u);
  EXPECT_TRUE(sim::is_code(inbox[1], codes::kPong));
  EXPECT_EQ(inbox[1].message->token, (Bytes{0xaa, 0xbb}));
}

TEST(StreamLayer, EmptyMessagesAreIgnored) {
  RawPeer p;
  p.send(csm());
  p.send(Message{});
  EXPECT_EQ(p.inbox().size(), 1u);
  EXPECT_EQ(p.node.endpoint.message_layer().peer_count(), 1u);
}

TEST(StreamLayer, UnknownCriticalCsmOptionAbortsNamingIt) {
  RawPeer p;
  Message m = csm();
  m.options.add_uint(9, 1);
  p.send(m);
  auto& inbox = p.inbox();
  ASSERT_GE(inbox.size(), 2u);
  EXPECT_TRUE(sim::is_code(inbox[1], codes::kAbort));
  EXPECT_EQ(inbox[1].message->options.get_uint(option::kAbortBadCsmOption), 9u);
  EXPECT_EQ(p.node.endpoint.message_layer().peer_count(), 0u);
}

TEST(StreamLayer, UnknownElectiveCsmOptionIsIgnored) {
  RawPeer p;
  Message m = csm(3000);
  m.options.add_uint(6, 1);
  p.send(m);
  EXPECT_EQ(p.inbox().size(), 1u);
  EXPECT_EQ(p.node.endpoint.message_layer().peer_max_message_size(kServer), 3000u);
}

TEST(StreamLayer, MissingCsmAbortsAfterCsmTimeout) {
  RawPeer p;
  const Instant start = p.net.now();
  p.net.run_for(Duration{9'999});
  EXPECT_EQ(p.inbox().size(), 1u);
  p.net.run_for(Duration{1});
  ASSERT_EQ(p.inbox().size(), 3u);
  EXPECT_TRUE(sim::is_code(p.inbox()[1], codes::kAbort));
  EXPECT_EQ(p.inbox()[1].sent - start, Duration{10'000});
}

TEST(StreamLayer, CsmTimeoutOfAnOldConnectionDoesNotAbortANewOne) {
  RawPeer p;
  const Instant start = p.net.now();
  p.net.run_for(Duration{1000});
  p.node.endpoint.on_disconnected(kServer, p.net.now());
  p.net.run_for(Duration{4000});
  p.net.connect(kClient, kServer);  // at 5 s: this connection's CSM is due by 15 s
  p.net.run_for(Duration{7000});
  p.send(csm());  // at 12 s
  p.net.run_for(Duration{10'000});
  EXPECT_EQ(p.net.now() - start, Duration{22'000});
  for (const auto& pkt : p.inbox()) EXPECT_FALSE(sim::is_code(pkt, codes::kAbort));
  EXPECT_EQ(p.node.endpoint.message_layer().peer_count(), 1u);
}

TEST(StreamLayer, FrameOverOurMaxMessageSizeAborts) {
  StreamLayerConfig cfg;
  cfg.max_message_size = 1152;
  RawPeer p(cfg);
  p.send(csm());
  Message big = sim::get("/x");
  big.token = {1};
  big.payload = sim::pattern(2000);
  p.send(big);
  EXPECT_EQ(p.calls, 0);
  ASSERT_GE(p.inbox().size(), 2u);
  EXPECT_TRUE(sim::is_code(p.inbox()[1], codes::kAbort));
}

TEST(StreamLayer, UnknownSignalAborts) {
  RawPeer p;
  p.send(csm());
  p.send(signal(Code(7, 9)));
  ASSERT_GE(p.inbox().size(), 2u);
  EXPECT_TRUE(sim::is_code(p.inbox()[1], codes::kAbort));
}

TEST(StreamLayer, KeepAlivePingsAfterSilenceAndStaysUpWithPongs) {
  SimNetwork net(Carrier::kStream);
  StreamLayerConfig ka;
  ka.ping_interval = Duration{30'000};
  ka.pong_timeout = Duration{10'000};
  Node client(tcp(ka), 1), server(tcp(), 2);
  net.add(kClient, client);
  net.add(kServer, server);
  server.endpoint.set_request_handler([&](PeerId, const Message& req, Responder r) {
    r.respond(make_response(req, codes::kContent), net.now());
  });
  const Instant start = net.now();
  net.connect(kClient, kServer);
  // Traffic at 20 s postpones the first Ping to 50 s.
  net.run_for(Duration{20'000});
  Recorder rec;
  client.endpoint.request(kServer, sim::get("/x"), rec.handler(), net.now());
  net.run_for(Duration{100'000});
  auto pings = net.sent(kClient, [](const Packet& p) { return sim::is_code(p, codes::kPing); });
  ASSERT_EQ(pings.size(), 3u);
  EXPECT_EQ(pings[0].sent - start, Duration{50'000});
  EXPECT_EQ(pings[1].sent - start, Duration{80'000});
  EXPECT_EQ(pings[2].sent - start, Duration{110'000});
  auto pongs = net.sent(kServer, [](const Packet& p) { return sim::is_code(p, codes::kPong); });
  ASSERT_EQ(pongs.size(), 3u);
  EXPECT_EQ(pongs[0].message->token, pings[0].message->token);
  EXPECT_EQ(net.count(kClient, [](const Packet& p) { return sim::is_code(p, codes::kAbort); }), 0u);
  EXPECT_EQ(client.endpoint.message_layer().peer_count(), 1u);
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_TRUE(rec.ok());
}

TEST(StreamLayer, KeepAliveAbortsWhenNoPongComes) {
  SimNetwork net(Carrier::kStream);
  StreamLayerConfig ka;
  ka.ping_interval = Duration{30'000};
  ka.pong_timeout = Duration{10'000};
  Node client(tcp(ka), 1), server(tcp(), 2);
  net.add(kClient, client);
  net.add(kServer, server);
  std::optional<Responder> held;
  server.endpoint.set_request_handler([&](PeerId, const Message&, Responder r) { held = r; });
  const Instant start = net.now();
  net.connect(kClient, kServer);
  Recorder rec;
  client.endpoint.request(kServer, sim::get("/x"), rec.handler(), net.now());
  net.settle();
  // The path stalls: nothing more from the server gets through.
  net.drop_if([](const Packet& p) { return p.from == kServer; });
  net.run_for(Duration{60'000});
  auto aborts = net.sent(kClient, [](const Packet& p) { return sim::is_code(p, codes::kAbort); });
  ASSERT_EQ(aborts.size(), 1u);
  EXPECT_EQ(aborts[0].sent - start, Duration{40'000});
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_FALSE(rec.ok());
  EXPECT_EQ(client.endpoint.message_layer().peer_count(), 0u);
  // The server saw the Abort (and the close) and dropped the connection too.
  EXPECT_EQ(server.endpoint.message_layer().peer_count(), 0u);
  ASSERT_TRUE(held.has_value());
  held->respond(Message{}, net.now());  // answering into a closed connection is harmless
  net.settle();
}

struct Connected {
  Connected() : net(Carrier::kStream), client(tcp(), 1), server(tcp(), 2) {
    net.add(kClient, client);
    net.add(kServer, server);
    server.endpoint.set_request_handler([this](PeerId, const Message& req, Responder r) {
      held = r;
      held_request = req;
    });
    client.endpoint.set_request_handler(
        [this](PeerId, const Message&, Responder r) { client_held = r; });
    net.connect(kClient, kServer);
    client.endpoint.request(kServer, sim::get("/pending"), client_rec.handler(), net.now());
    server.endpoint.request(kClient, sim::get("/pending"), server_rec.handler(), net.now());
    net.settle();
  }
  SimNetwork net;
  Node client;
  Node server;
  std::optional<Responder> held, client_held;
  Message held_request;
  Recorder client_rec, server_rec;
};

TEST(StreamLayer, ReleaseClosesAndFailsPendingRequestsOnBothSides) {
  Connected c;
  ASSERT_TRUE(c.held.has_value());
  c.server.endpoint.close(kClient, c.net.now());
  c.net.settle();
  auto from_server = c.net.sent(kServer);
  ASSERT_GE(from_server.size(), 2u);
  EXPECT_TRUE(sim::is_code(from_server[from_server.size() - 2], codes::kRelease));
  EXPECT_TRUE(is_close(from_server.back()));
  ASSERT_EQ(c.client_rec.size(), 1u);
  EXPECT_FALSE(c.client_rec.ok());
  ASSERT_EQ(c.server_rec.size(), 1u);
  EXPECT_FALSE(c.server_rec.ok());
  EXPECT_EQ(c.client.endpoint.pending_requests(), 0u);
  EXPECT_EQ(c.server.endpoint.pending_requests(), 0u);
  EXPECT_EQ(c.client.endpoint.message_layer().peer_count(), 0u);
  EXPECT_EQ(c.server.endpoint.message_layer().peer_count(), 0u);
  // A late answer has nowhere to go and does not reopen anything.
  const std::size_t before = c.net.log().size();
  c.held->respond(make_response(c.held_request, codes::kContent), c.net.now());
  c.net.settle();
  EXPECT_EQ(c.net.log().size(), before);
  EXPECT_EQ(c.server.endpoint.message_layer().peer_count(), 0u);
}

TEST(StreamLayer, AbortClosesAndFailsPendingRequestsOnBothSides) {
  Connected c;
  stream_of(c.client).abort(kServer, "shutting down", c.net.now());
  c.net.settle();
  auto aborts = c.net.sent(kClient, [](const Packet& p) { return sim::is_code(p, codes::kAbort); });
  ASSERT_EQ(aborts.size(), 1u);
  EXPECT_EQ(to_string(aborts[0].message->payload), "shutting down");
  ASSERT_EQ(c.client_rec.size(), 1u);
  EXPECT_FALSE(c.client_rec.ok());
  ASSERT_EQ(c.server_rec.size(), 1u);
  EXPECT_FALSE(c.server_rec.ok());
  EXPECT_EQ(c.client.endpoint.message_layer().peer_count(), 0u);
  EXPECT_EQ(c.server.endpoint.message_layer().peer_count(), 0u);
}

TEST(StreamLayer, CarrierDisconnectFailsPendingRequests) {
  Connected c;
  c.client.endpoint.on_disconnected(kServer, c.net.now());
  c.net.settle();
  ASSERT_EQ(c.client_rec.size(), 1u);
  EXPECT_FALSE(c.client_rec.ok());
  EXPECT_EQ(c.client.endpoint.message_layer().peer_count(), 0u);
  // Nothing is sent on a connection that is already gone.
  EXPECT_EQ(c.net.count(kClient, is_close), 0u);
}

TEST(StreamLayer, EndpointPingSendsASignalingPing) {
  Connected c;
  c.client.endpoint.ping(kServer, nullptr, c.net.now());
  c.net.settle();
  auto pings = c.net.sent(kClient, [](const Packet& p) { return sim::is_code(p, codes::kPing); });
  ASSERT_EQ(pings.size(), 1u);
  auto pongs = c.net.sent(kServer, [](const Packet& p) { return sim::is_code(p, codes::kPong); });
  ASSERT_EQ(pongs.size(), 1u);
  EXPECT_EQ(pongs[0].message->token, pings[0].message->token);
  c.net.run_for(Duration{60'000});
  EXPECT_EQ(c.client.endpoint.message_layer().peer_count(), 1u);
}

TEST(StreamLayer, ResponsesFollowRequestsWithoutTypesOrMessageIds) {
  Connected c;
  ASSERT_TRUE(c.held.has_value());
  Message resp = make_response(c.held_request, codes::kContent);
  resp.payload = to_bytes("late but fine");
  c.held->respond(resp, c.net.now());
  c.net.run_for(Duration{300'000});  // no retransmissions, no timeouts on a stream
  ASSERT_EQ(c.client_rec.size(), 1u);
  EXPECT_EQ(to_string(c.client_rec.message().payload), "late but fine");
  EXPECT_EQ(c.net.count(kClient, sim::is_request), 1u);
}

}  // namespace
}  // namespace tether::coap
