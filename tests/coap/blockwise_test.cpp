// RFC 7959 block-wise transfers (and RFC 9175 Request-Tag) through two Endpoints.
#include <gtest/gtest.h>

#include <optional>
#include <set>

#include "coap/endpoint.hpp"
#include "sim_network.hpp"

namespace tether::coap {
namespace {

using sim::Node;
using sim::Packet;
using sim::Recorder;
using sim::SimNetwork;

constexpr PeerId kClient = 1;
constexpr PeerId kServer = 2;
constexpr std::size_t k100KiB = 100 * 1024;

struct BlockFixture {
  explicit BlockFixture(EndpointConfig server_config = {}, EndpointConfig client_config = {})
      : net(client_config.carrier), client(client_config, 1), server(server_config, 2) {
    net.add(kClient, client);
    net.add(kServer, server);
    server.endpoint.set_request_handler([this](PeerId, const Message& req, Responder r) {
      ++calls;
      bodies.push_back(req.payload);
      requests.push_back(req);
      Message resp = make_response(req, req.code == codes::kGet   ? codes::kContent
                                        : req.code == codes::kPut ? codes::kChanged
                                                                  : codes::kCreated);
      resp.payload = answer;
      r.respond(std::move(resp), net.now());
    });
    if (client_config.carrier == Carrier::kStream) net.connect(kClient, kServer);
  }

  Recorder send(Message m, RequestOptions options = {}) {
    Recorder rec;
    client.endpoint.request(kServer, std::move(m), rec.handler(), net.now(), options);
    net.run_for(Duration{600'000});
    return rec;
  }

  std::vector<Message> client_requests() const {
    std::vector<Message> out;
    for (const auto& p : net.sent(kClient, sim::is_request)) out.push_back(*p.message);
    return out;
  }

  SimNetwork net;
  Node client;
  Node server;
  int calls = 0;
  std::vector<Bytes> bodies;
  std::vector<Message> requests;
  Bytes answer;
};

Message put(std::string_view path, Bytes payload, Code code = codes::kPut) {
  Message m = make_request(code, path);
  m.type = Type::kConfirmable;
  m.payload = std::move(payload);
  return m;
}

TEST(BlockWise, LargePutAndPostGoAsBlock1WithRequestTagAndSize1) {
  for (Code method : {codes::kPut, codes::kPost}) {
    SCOPED_TRACE(method.to_string());
    BlockFixture f;
    const Bytes body = sim::pattern(k100KiB);
    Recorder rec = f.send(put("/5/0/0", body, method));
    ASSERT_EQ(rec.size(), 1u);
    ASSERT_TRUE(rec.ok()) << rec.results[0].error().reason;
    EXPECT_TRUE(rec.message().code.is_success());
    EXPECT_EQ(f.calls, 1);
    ASSERT_EQ(f.bodies.size(), 1u);
    EXPECT_EQ(f.bodies[0], body);
    // The handler sees the whole request, not the block options.
    EXPECT_FALSE(f.requests[0].options.has(option::kBlock1));
    EXPECT_FALSE(f.requests[0].options.has(option::kSize1));
    EXPECT_EQ(f.requests[0].path(), "/5/0/0");

    auto wire = f.client_requests();
    ASSERT_EQ(wire.size(), k100KiB / 1024);
    std::set<Bytes> tags;
    for (std::size_t i = 0; i < wire.size(); ++i) {
      auto b1 = get_block(wire[i], option::kBlock1);
      ASSERT_TRUE(b1.has_value()) << i;
      EXPECT_EQ(b1->num, i);
      EXPECT_EQ(b1->szx, 6);
      EXPECT_EQ(b1->more, i + 1 < wire.size());
      EXPECT_EQ(wire[i].payload.size(), 1024u);
      EXPECT_EQ(wire[i].options.get_uint(option::kSize1),
                i == 0 ? std::optional<std::uint64_t>(k100KiB) : std::nullopt);
      ASSERT_TRUE(wire[i].options.has(option::kRequestTag));
      tags.insert(wire[i].options.find(option::kRequestTag)->value.bytes());
    }
    EXPECT_EQ(tags.size(), 1u);
    // Every datagram fits the path MTU guess.
    for (const auto& p : f.net.log()) EXPECT_LE(p.bytes.size(), 1152u);
  }
}

TEST(BlockWise, LargeResponseGoesAsBlock2WithSize2) {
  BlockFixture f;
  f.answer = sim::pattern(k100KiB, 3);
  Recorder rec = f.send(sim::get("/big"));
  ASSERT_EQ(rec.size(), 1u);
  ASSERT_TRUE(rec.ok()) << rec.results[0].error().reason;
  EXPECT_EQ(rec.message().payload, f.answer);
  EXPECT_FALSE(rec.message().options.has(option::kBlock2));
  EXPECT_EQ(f.calls, 1);  // later blocks come from the cache

  auto responses =
      f.net.sent(kServer, [](const Packet& p) { return sim::is_code(p, codes::kContent); });
  ASSERT_EQ(responses.size(), k100KiB / 1024);
  EXPECT_EQ(responses[0].message->options.get_uint(option::kSize2), k100KiB);
  for (std::size_t i = 0; i < responses.size(); ++i) {
    auto b2 = get_block(*responses[i].message, option::kBlock2);
    ASSERT_TRUE(b2.has_value());
    EXPECT_EQ(b2->num, i);
    EXPECT_EQ(b2->more, i + 1 < responses.size());
  }
  auto wire = f.client_requests();
  ASSERT_EQ(wire.size(), responses.size());
  EXPECT_FALSE(wire[0].options.has(option::kBlock2));
  for (std::size_t i = 1; i < wire.size(); ++i) {
    EXPECT_EQ(get_block(wire[i], option::kBlock2)->num, i);
    EXPECT_EQ(wire[i].path(), "/big");
  }
}

TEST(BlockWise, LargePutWithLargeResponse) {
  BlockFixture f;
  f.answer = sim::pattern(5000, 9);
  const Bytes body = sim::pattern(7000, 4);
  Recorder rec = f.send(put("/both", body, codes::kPost));
  ASSERT_EQ(rec.size(), 1u);
  ASSERT_TRUE(rec.ok()) << rec.results[0].error().reason;
  EXPECT_EQ(rec.message().payload, f.answer);
  ASSERT_EQ(f.bodies.size(), 1u);
  EXPECT_EQ(f.bodies[0], body);
}

TEST(BlockWise, EarlyNegotiationOfSmallerBlocks) {
  {
    BlockFixture f;
    f.answer = sim::pattern(1000, 1);
    Recorder rec = f.send(sim::get("/neg"), RequestOptions{std::uint8_t{2}, std::nullopt});
    ASSERT_EQ(rec.size(), 1u);
    ASSERT_TRUE(rec.ok());
    EXPECT_EQ(rec.message().payload, f.answer);
    auto wire = f.client_requests();
    ASSERT_EQ(wire.size(), 16u);  // 1000 bytes in 64-byte blocks
    EXPECT_EQ(get_block(wire[0], option::kBlock2), (BlockOption{0, false, 2}));
    for (const auto& p : f.net.sent(kServer)) {
      if (p.message->code == codes::kContent) {
        EXPECT_LE(p.message->payload.size(), 64u);
      }
    }
  }
  {
    BlockFixture f;
    const Bytes body = sim::pattern(300, 2);
    Recorder rec = f.send(put("/neg", body), RequestOptions{std::uint8_t{2}, std::nullopt});
    ASSERT_EQ(rec.size(), 1u);
    ASSERT_TRUE(rec.ok());
    ASSERT_EQ(f.bodies.size(), 1u);
    EXPECT_EQ(f.bodies[0], body);
    auto wire = f.client_requests();
    ASSERT_EQ(wire.size(), 5u);
    for (const auto& m : wire) EXPECT_EQ(get_block(m, option::kBlock1)->szx, 2);
  }
}

TEST(BlockWise, ServerWithSmallerBlocksMakesTheClientContinueInItsSize) {
  EndpointConfig small;
  small.block_szx = 4;  // 256 bytes
  BlockFixture f(small);
  const Bytes body = sim::pattern(3000, 5);
  Recorder rec = f.send(put("/small", body));
  ASSERT_EQ(rec.size(), 1u);
  ASSERT_TRUE(rec.ok()) << rec.results[0].error().reason;
  ASSERT_EQ(f.bodies.size(), 1u);
  EXPECT_EQ(f.bodies[0], body);
  auto wire = f.client_requests();
  ASSERT_GE(wire.size(), 2u);
  EXPECT_EQ(get_block(wire[0], option::kBlock1)->szx, 6);
  auto cont =
      f.net.sent(kServer, [](const Packet& p) { return sim::is_code(p, codes::kContinue); });
  ASSERT_FALSE(cont.empty());
  EXPECT_EQ(get_block(*cont[0].message, option::kBlock1), (BlockOption{0, true, 4}));
  EXPECT_EQ(get_block(wire[1], option::kBlock1), (BlockOption{1, true, 4}));
  EXPECT_EQ(wire.size(), 1u + (3000 - 256 + 255) / 256);

  // Its responses come in 256-byte blocks too.
  f.answer = sim::pattern(1000, 6);
  Recorder got = f.send(sim::get("/small"));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got.message().payload, f.answer);
  auto first =
      f.net.sent(kServer, [](const Packet& p) { return sim::is_code(p, codes::kContent); });
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(get_block(*first[0].message, option::kBlock2)->szx, 4);
}

TEST(BlockWise, ResponseTooBigToCacheIsServedByTheHandlerPerBlock) {
  EndpointConfig tiny;
  tiny.max_block_cache_per_peer = 1000;
  BlockFixture f(tiny);
  f.answer = sim::pattern(5000, 7);
  Recorder rec = f.send(sim::get("/uncached"));
  ASSERT_EQ(rec.size(), 1u);
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec.message().payload, f.answer);
  EXPECT_EQ(f.calls, 5);  // no cache: every block asks the handler again
}

TEST(BlockWise, CachedRepresentationExpires) {
  EndpointConfig short_cache;
  short_cache.block_cache_lifetime = Duration{5000};
  BlockFixture f(short_cache);
  f.answer = sim::pattern(3000, 7);
  Recorder rec = f.send(sim::get("/c"));
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(f.calls, 1);
  // A late request for block 1 goes to the handler again once the cache is gone.
  Message late = sim::get("/c");
  set_block(late, option::kBlock2, BlockOption{1, false, 6});
  Recorder again = f.send(late);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(f.calls, 2);
}

TEST(BlockWise, Block1WithoutItsStartIsIncomplete) {
  SimNetwork net;
  Node server({}, 2);
  net.add(kServer, server);
  net.add_raw(kClient);
  int calls = 0;
  server.endpoint.set_request_handler([&](PeerId, const Message&, Responder) { ++calls; });
  Message m = put("/x", sim::pattern(1024));
  m.message_id = 1;
  m.token = {1};
  set_block(m, option::kBlock1, BlockOption{3, true, 6});
  net.send_raw(kClient, kServer, m);
  net.settle();
  ASSERT_EQ(net.raw_inbox(kClient).size(), 1u);
  EXPECT_EQ(net.raw_inbox(kClient)[0].message->code, codes::kRequestEntityIncomplete);
  EXPECT_EQ(calls, 0);

  // A block that skips ahead of what was received is incomplete as well.
  m.message_id = 2;
  set_block(m, option::kBlock1, BlockOption{0, true, 6});
  net.send_raw(kClient, kServer, m);
  m.message_id = 3;
  set_block(m, option::kBlock1, BlockOption{2, true, 6});
  net.send_raw(kClient, kServer, m);
  net.settle();
  ASSERT_EQ(net.raw_inbox(kClient).size(), 3u);
  EXPECT_EQ(net.raw_inbox(kClient)[1].message->code, codes::kContinue);
  EXPECT_EQ(net.raw_inbox(kClient)[2].message->code, codes::kRequestEntityIncomplete);
  EXPECT_EQ(calls, 0);
}

TEST(BlockWise, BodyOverTheLimitIsTooLargeWithSize1) {
  EndpointConfig limited;
  limited.max_request_body = 4096;
  {
    // Announced by Size1 in the first block.
    BlockFixture f(limited);
    Recorder rec = f.send(put("/big", sim::pattern(10'000)));
    ASSERT_EQ(rec.size(), 1u);
    ASSERT_TRUE(rec.ok());
    EXPECT_EQ(rec.message().code, codes::kRequestEntityTooLarge);
    EXPECT_EQ(rec.message().options.get_uint(option::kSize1), 4096u);
    EXPECT_EQ(f.calls, 0);
    EXPECT_EQ(f.client_requests().size(), 1u);
  }
  {
    // Found out while reassembling, without Size1.
    SimNetwork net;
    Node server(limited, 2);
    net.add(kServer, server);
    net.add_raw(kClient);
    int calls = 0;
    server.endpoint.set_request_handler([&](PeerId, const Message&, Responder) { ++calls; });
    for (std::uint32_t num = 0; num < 5; ++num) {
      Message m = put("/big", sim::pattern(1024));
      m.message_id = static_cast<std::uint16_t>(10 + num);
      m.token = {2};
      set_block(m, option::kBlock1, BlockOption{num, true, 6});
      net.send_raw(kClient, kServer, m);
      net.settle();
    }
    auto& inbox = net.raw_inbox(kClient);
    ASSERT_EQ(inbox.size(), 5u);
    for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(inbox[i].message->code, codes::kContinue);
    EXPECT_EQ(inbox[4].message->code, codes::kRequestEntityTooLarge);
    EXPECT_EQ(inbox[4].message->options.get_uint(option::kSize1), 4096u);
    EXPECT_EQ(calls, 0);
  }
}

TEST(BlockWise, AbandonedBodiesCountAgainstThePeerUntilTheyExpire) {
  EndpointConfig limited;
  limited.max_request_body = 4096;
  SimNetwork net;
  Node server(limited, 2);
  net.add(kServer, server);
  net.add_raw(kClient);
  std::vector<Bytes> bodies;
  server.endpoint.set_request_handler([&](PeerId, const Message& req, Responder r) {
    bodies.push_back(req.payload);
    r.respond(make_response(req, codes::kChanged), net.now());
  });
  std::uint16_t mid = 100;
  auto block = [&](Bytes tag, std::uint32_t num, bool more) {
    Message m = put("/b", sim::pattern(1024, static_cast<std::uint8_t>(num)));
    m.message_id = mid++;
    m.token = tag;
    m.options.set(option::kRequestTag, tag);
    set_block(m, option::kBlock1, BlockOption{num, more, 6});
    net.send_raw(kClient, kServer, m);
    net.settle();
    return net.raw_inbox(kClient).back().message->code;
  };
  // Body A stops after four blocks: the peer's whole allowance.
  for (std::uint32_t n = 0; n < 4; ++n) EXPECT_EQ(block({0xa}, n, true), codes::kContinue);
  // Body B would take this peer over its limit while A is kept.
  EXPECT_EQ(block({0xb}, 0, true), codes::kRequestEntityTooLarge);
  // Once A has expired, B fits.
  net.run_for(TransmissionParameters::udp().exchange_lifetime() + Duration{1000});
  EXPECT_EQ(block({0xb}, 0, true), codes::kContinue);
  EXPECT_EQ(block({0xb}, 1, true), codes::kContinue);
  EXPECT_EQ(block({0xb}, 2, false), codes::kChanged);
  ASSERT_EQ(bodies.size(), 1u);
  EXPECT_EQ(bodies[0].size(), 3072u);
  // A's blocks are gone: its next block is incomplete.
  EXPECT_EQ(block({0xa}, 4, true), codes::kRequestEntityIncomplete);
}

TEST(BlockWise, Block2SurvivesLossDuplicationAndReordering) {
  BlockFixture f;
  f.net.set_latency(Duration{30});
  f.net.drop_if([](const Packet& p) { return p.seq % 7 == 3; });
  f.net.duplicate_if([](const Packet& p) { return p.seq % 5 == 1; });
  f.net.delay_by(
      [](const Packet& p) { return Duration{static_cast<std::int64_t>((p.seq * 37) % 400)}; });
  f.answer = sim::pattern(20'000, 8);
  Recorder rec = f.send(sim::get("/lossy"));
  ASSERT_EQ(rec.size(), 1u);
  ASSERT_TRUE(rec.ok()) << rec.results[0].error().reason;
  EXPECT_EQ(rec.message().payload, f.answer);
  EXPECT_EQ(f.calls, 1);
}

TEST(BlockWise, Block1SurvivesLossDuplicationAndReordering) {
  BlockFixture f;
  f.net.set_latency(Duration{30});
  f.net.drop_if([](const Packet& p) { return p.seq % 6 == 2; });
  f.net.duplicate_if([](const Packet& p) { return p.seq % 4 == 0; });
  f.net.delay_by(
      [](const Packet& p) { return Duration{static_cast<std::int64_t>((p.seq * 53) % 500)}; });
  const Bytes body = sim::pattern(20'000, 8);
  Recorder rec = f.send(put("/lossy", body));
  ASSERT_EQ(rec.size(), 1u);
  ASSERT_TRUE(rec.ok()) << rec.results[0].error().reason;
  ASSERT_EQ(f.bodies.size(), 1u);
  EXPECT_EQ(f.bodies[0], body);
}

TEST(BlockWise, ConcurrentBodiesAreKeptApartByRequestTag) {
  EndpointConfig two;
  two.datagram.params.nstart = 2;
  BlockFixture f({}, two);
  const Bytes a = sim::pattern(5000, 1);
  const Bytes b = sim::pattern(6000, 2);
  Recorder ra, rb;
  f.client.endpoint.request(kServer, put("/same", a), ra.handler(), f.net.now());
  f.client.endpoint.request(kServer, put("/same", b), rb.handler(), f.net.now());
  f.net.run_for(Duration{60'000});
  ASSERT_EQ(ra.size(), 1u);
  ASSERT_EQ(rb.size(), 1u);
  EXPECT_TRUE(ra.ok() && ra.message().code == codes::kChanged);
  EXPECT_TRUE(rb.ok() && rb.message().code == codes::kChanged);
  ASSERT_EQ(f.bodies.size(), 2u);
  EXPECT_TRUE((f.bodies[0] == a && f.bodies[1] == b) || (f.bodies[0] == b && f.bodies[1] == a));
}

TEST(BlockWise, LargeNotificationIsDeliveredWhole) {
  BlockFixture f;
  std::optional<ObservationId> obs;
  f.answer = sim::pattern(3000, 1);
  f.server.endpoint.set_request_handler([&](PeerId, const Message& req, Responder r) {
    ++f.calls;
    Message resp = make_response(req, codes::kContent);
    resp.payload = f.answer;
    if (req.observe() == 0u) resp.set_observe(1);
    auto id = r.respond(std::move(resp), f.net.now());
    if (id) obs = id;
  });
  Recorder rec;
  Message reg = sim::get("/obs");
  reg.set_observe(0);
  f.client.endpoint.request(kServer, reg, rec.handler(), f.net.now());
  f.net.run_for(Duration{10'000});
  ASSERT_TRUE(obs.has_value());
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec.message().payload, f.answer);

  for (int i = 0; i < 2; ++i) {
    Message n;
    n.code = codes::kContent;
    n.payload = sim::pattern(5000, static_cast<std::uint8_t>(40 + i));
    f.server.endpoint.notify(*obs, n, i == 0 ? Type::kConfirmable : Type::kNonConfirmable,
                             f.net.now());
    f.net.run_for(Duration{10'000});
    ASSERT_EQ(rec.size(), 2u + static_cast<std::size_t>(i));
    ASSERT_TRUE(rec.ok(rec.size() - 1));
    EXPECT_EQ(rec.message(rec.size() - 1).payload, n.payload);
    EXPECT_TRUE(rec.message(rec.size() - 1).observe().has_value());
  }
  EXPECT_EQ(f.calls, 1);
  // Block 0 rides in the notification; the rest are fetched without Observe.
  for (const auto& m : f.client_requests()) {
    if (get_block(m, option::kBlock2)) {
      EXPECT_FALSE(m.options.has(option::kObserve));
    }
  }
  EXPECT_EQ(f.server.endpoint.observation_count(), 1u);
  EXPECT_EQ(f.client.endpoint.pending_requests(), 1u);
}

TEST(BlockWise, OverTcpWhenThePayloadExceedsThePeersMaxMessageSize) {
  EndpointConfig server_cfg;
  server_cfg.carrier = Carrier::kStream;
  server_cfg.stream.max_message_size = 1152;
  EndpointConfig client_cfg;
  client_cfg.carrier = Carrier::kStream;
  client_cfg.stream.max_message_size = 1152;
  BlockFixture f(server_cfg, client_cfg);
  const Bytes body = sim::pattern(10'000, 3);
  f.answer = sim::pattern(9000, 4);
  Recorder rec = f.send(put("/tcp", body, codes::kPost));
  ASSERT_EQ(rec.size(), 1u);
  ASSERT_TRUE(rec.ok()) << rec.results[0].error().reason;
  EXPECT_EQ(rec.message().payload, f.answer);
  ASSERT_EQ(f.bodies.size(), 1u);
  EXPECT_EQ(f.bodies[0], body);
  EXPECT_GT(f.client_requests().size(), 10u);
  for (const auto& p : f.net.log()) {
    EXPECT_LE(p.bytes.size(), 1152u);
    EXPECT_FALSE(sim::is_code(p, codes::kAbort));
  }
}

TEST(BlockWise, OverTcpAPayloadThatFitsGoesWhole) {
  EndpointConfig cfg;
  cfg.carrier = Carrier::kStream;
  BlockFixture f(cfg, cfg);
  const Bytes body = sim::pattern(10'000, 3);
  Recorder rec = f.send(put("/tcp", body));
  ASSERT_EQ(rec.size(), 1u);
  ASSERT_TRUE(rec.ok());
  ASSERT_EQ(f.bodies.size(), 1u);
  EXPECT_EQ(f.bodies[0], body);
  EXPECT_EQ(f.client_requests().size(), 1u);
}

}  // namespace
}  // namespace tether::coap
