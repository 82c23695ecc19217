// RFC 8323 5.5 over CoAP/TCP: a server's Release with Hold-Off and Alternative-Address. The
// client waits out the hold-off, then takes its next connection to the address given; its
// registration stands.
#include <gtest/gtest.h>

#include "client/client_fixture.hpp"

namespace tether::client {
namespace {

using coap::Message;
using coap::sim::Packet;
namespace codes = coap::codes;
namespace option = coap::option;
using server::ServerEvent;
using server::testing::kServerAddress;
using namespace testing;

constexpr coap::PeerId kAlternative = 7;

coap::EndpointConfig stream_config() {
  coap::EndpointConfig c;
  c.carrier = coap::Carrier::kStream;
  return c;
}

struct TcpSetup {
  TcpSetup()
      : net(coap::Carrier::kStream),
        server(net, store, {}, stream_config()),
        client(net, config_for("tcp-dev"), kClientAddress, stream_config()) {
    client.client.attach(client.transport, "coap+tcp");
    client.add_server(101, "coap+tcp://10.0.0.1:1", 300);
    (void)client.data.put(Path{1, 0, 7}, Value("T"));
    client.client.start();
    registered =
        net.run_until([&] { return server.server.find("tcp-dev") != nullptr; }, Duration{30'000});
  }
  void release(const std::vector<std::string>& addresses, std::optional<std::uint32_t> hold_off) {
    Message rel;
    rel.code = codes::kRelease;
    for (const auto& a : addresses) rel.options.add(option::kReleaseAlternativeAddress, a);
    if (hold_off) rel.options.add_uint(option::kReleaseHoldOff, *hold_off);
    released_at = net.now();
    release_seq = net.next_seq();
    net.send_raw(kServerAddress, kClientAddress, rel);
    net.settle();
  }
  // Data the client sent to `to` after the Release.
  std::vector<Packet> sent_after_release(coap::PeerId to) const {
    return net.sent(kClientAddress, [&](const Packet& p) {
      return p.to == to && p.seq > release_seq && p.kind == coap::Transmit::Kind::kData;
    });
  }

  SimNetwork net;
  server::MemoryStore store;
  ServerHarness server;
  ClientHarness client;
  bool registered = false;
  Instant released_at{};
  std::size_t release_seq = 0;
};

TEST(Release, HoldOffIsWaitedOutAndTheAlternativeAddressUsed) {
  TcpSetup t;
  ASSERT_TRUE(t.registered);
  const std::string location = "/rd/" + t.server.server.find("tcp-dev")->id;
  t.net.add_raw(kAlternative);
  t.release({"10.0.0.1:7"}, 1000);
  EXPECT_EQ(t.client.count(ClientEvent::Kind::kReleased), 1u);

  // The Update falls due within the hold-off: nothing goes out to anyone until it ends.
  t.net.run_for(Duration{990'000});
  EXPECT_TRUE(t.sent_after_release(kServerAddress).empty());
  EXPECT_TRUE(t.sent_after_release(kAlternative).empty());

  ASSERT_TRUE(t.net.run_until([&] { return t.sent_after_release(kAlternative).size() >= 2; },
                              Duration{20'000}));
  const auto to_alternative = t.sent_after_release(kAlternative);
  EXPECT_GE(to_alternative.front().sent, t.released_at + Duration{1'000'000});
  EXPECT_EQ(to_alternative[0].message->code, codes::kCsm);
  const Message update = *to_alternative[1].message;
  EXPECT_EQ(update.code, codes::kPost);
  EXPECT_EQ(update.path(), location);
  EXPECT_TRUE(t.sent_after_release(kServerAddress).empty());

  // The server behind the other address answers: the registration goes on.
  Message csm;
  csm.code = codes::kCsm;
  t.net.send_raw(kAlternative, kClientAddress, csm);
  t.net.send_raw(kAlternative, kClientAddress, coap::make_response(update, codes::kChanged));
  t.net.settle();
  EXPECT_GE(t.client.count(ClientEvent::Kind::kUpdated), 1u);
  EXPECT_EQ(t.client.count(ClientEvent::Kind::kRegistered), 1u);
}

// Raw options a hostile or broken server might send: an address that is no authority is
// ignored (the next connection goes to the URI's), and a hold-off of years is cut to a day.
TEST(Release, BadAdviceIsBounded) {
  TcpSetup t;
  ASSERT_TRUE(t.registered);
  t.release({"evil/path?x", std::string(300, 'a')}, 0xffffff);
  t.net.run_for(Duration{86'390'000});
  EXPECT_TRUE(t.sent_after_release(kServerAddress).empty());
  t.net.run_for(Duration{60'000});
  EXPECT_FALSE(t.sent_after_release(kServerAddress).empty());
  EXPECT_TRUE(t.net.run_until(
      [&] {
        return t.client.count(ClientEvent::Kind::kRegistered) +
                   t.client.count(ClientEvent::Kind::kUpdated) >=
               2;
      },
      Duration{60'000}));
}

// A Release without options: the client reconnects when it next has something to say.
TEST(Release, PlainReleaseReconnectsForTheNextUpdate) {
  TcpSetup t;
  ASSERT_TRUE(t.registered);
  t.release({}, std::nullopt);
  EXPECT_TRUE(t.net.run_until([&] { return t.client.count(ClientEvent::Kind::kUpdated) >= 1; },
                              Duration{400'000}));
  EXPECT_EQ(t.server.events_of(ServerEvent::Kind::kRegistered).size(), 1u);
}

}  // namespace
}  // namespace tether::client
