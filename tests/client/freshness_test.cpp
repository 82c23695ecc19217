// Transport TS 5.7 and 5.2.9.5 in LwM2M roles: a server that asks unverified or long-silent
// clients for an Echo before Register and Update, a client that asks for one before a write
// of Current Time or a Write/Execute after a silence; our peers answer and go on.
#include <gtest/gtest.h>

#include "binding/coap/freshness_gate.hpp"
#include "client/client_fixture.hpp"

namespace tether::client {
namespace {

using binding::coap_binding::FreshnessGate;
using binding::coap_binding::FreshnessRules;
using coap::Message;
using coap::sim::Packet;
namespace codes = coap::codes;
using lwm2m::Operation;
using lwm2m::format::ContentFormat;
using server::ServerEvent;
using server::testing::kServerAddress;
using namespace testing;

bool has_echo(const Packet& p) {
  return p.message && p.message->options.has(coap::option::kEcho);
}

std::vector<Packet> sent_with(SimNetwork& net, coap::PeerId from, coap::Code code,
                              const std::string& path_prefix) {
  return net.sent(from, [&](const Packet& p) {
    return coap::sim::is_code(p, code) && p.message->path().rfind(path_prefix, 0) == 0;
  });
}

std::size_t challenges(SimNetwork& net, coap::PeerId from) {
  return net
      .sent(from,
            [](const Packet& p) {
              return coap::sim::is_code(p, codes::kUnauthorized) && has_echo(p);
            })
      .size();
}

coap::EndpointConfig gated(FreshnessGate& gate) {
  coap::EndpointConfig c;
  gate.install(c);
  return c;
}

TEST(Freshness, WhichRequestsMayWriteCurrentTime) {
  using binding::coap_binding::may_write_current_time;
  for (const char* path : {"/", "/3", "/3/0", "/3/0/13", "/lwm2m/3/0/13"}) {
    EXPECT_TRUE(may_write_current_time(coap::make_request(codes::kPut, path))) << path;
  }
  EXPECT_TRUE(may_write_current_time(coap::make_request(codes::kIPatch, "/")));
  EXPECT_TRUE(may_write_current_time(coap::make_request(codes::kPost, "/3/0")));
  for (const char* path : {"/3/0/14", "/3/1", "/1/0/13", "/3303/0/13", "/3/0/13/0"}) {
    EXPECT_FALSE(may_write_current_time(coap::make_request(codes::kPut, path))) << path;
  }
  EXPECT_FALSE(may_write_current_time(coap::make_request(codes::kGet, "/3/0/13")));
  EXPECT_FALSE(may_write_current_time(coap::make_request(codes::kDelete, "/3/0")));
}

// Our server with --echo-after-silence and our client, registered through the gate.
struct GatedServer {
  GatedServer(Duration silence, const std::string& ep)
      : gate(FreshnessRules{silence, false}),
        server(n.net, n.store, {}, gated(gate)),
        c(n.net, config_for(ep)) {
    c.add_server(101, kServerUri, 300);
    registered = start_and_register(n, server, c, ep);
  }
  std::size_t updates() const { return server.events_of(ServerEvent::Kind::kUpdated).size(); }
  std::size_t registers() const { return server.events_of(ServerEvent::Kind::kRegistered).size(); }

  Network n;
  FreshnessGate gate;
  ServerHarness server;
  ClientHarness c;
  bool registered = false;
};

// Our client with a gate of its own, registered with our plain server.
struct GatedClient {
  GatedClient(FreshnessRules rules, const std::string& ep)
      : server(n.net, n.store), gate(rules), c(n.net, config_for(ep), kClientAddress, gated(gate)) {
    c.add_server(101, kServerUri, 86400);
    registered = start_and_register(n, server, c, ep);
  }
  Network n;
  ServerHarness server;
  FreshnessGate gate;
  ClientHarness c;
  bool registered = false;
};

// The first Register proves the client's address; Updates in conversation (every
// lifetime/2 < silence) pass without a challenge.
TEST(Freshness, ServerVerifiesANewClientOnce) {
  GatedServer g(Duration{600'000}, "fresh");
  ASSERT_TRUE(g.registered);
  const auto registers = sent_with(g.n.net, kClientAddress, codes::kPost, "/rd");
  ASSERT_EQ(registers.size(), 2u);
  EXPECT_FALSE(has_echo(registers[0]));
  EXPECT_TRUE(has_echo(registers[1]));
  EXPECT_EQ(challenges(g.n.net, kServerAddress), 1u);

  g.n.net.run_for(Duration{1'000'000});
  EXPECT_GE(g.updates(), 3u);
  EXPECT_EQ(challenges(g.n.net, kServerAddress), 1u);
  EXPECT_EQ(g.registers(), 1u);
  EXPECT_EQ(g.gate.remembered(), 1u);
}

// Updates after a silence longer than the setting are challenged, and the client answers
// each: it stays registered and never registers again.
TEST(Freshness, ServerChallengesUpdatesAfterSilence) {
  GatedServer g(Duration{100'000}, "sleepy");
  ASSERT_TRUE(g.registered);
  g.n.net.run_for(Duration{1'000'000});
  EXPECT_GE(g.updates(), 3u);
  EXPECT_EQ(challenges(g.n.net, kServerAddress), 1u + g.updates());
  EXPECT_EQ(g.registers(), 1u);
  EXPECT_NE(g.server.server.find("sleepy"), nullptr);
}

// 5.2.9.5: a write that may set Current Time is done only with a fresh Echo; our server
// retries with it, so the operator sees one successful Write. Other writes pass at once.
TEST(Freshness, ClientChecksCurrentTimeWrites) {
  GatedClient g(FreshnessRules{Duration{0}, true}, "clock");
  ASSERT_TRUE(g.registered);
  auto& n = g.n;
  auto& server = g.server;
  auto& c = g.c;

  auto w = op(Operation::kWrite, Path{3, 0, 13});
  w.format = ContentFormat::kTlv;
  (void)w.content.set(Path{3, 0, 13}, Value(lwm2m::Time{1'900'000'000}));
  EXPECT_EQ(code_of(call(n.net, server.server, "clock", w)), codes::kChanged);
  const auto puts = sent_with(n.net, kServerAddress, codes::kPut, "/3/0/13");
  ASSERT_EQ(puts.size(), 2u);
  EXPECT_FALSE(has_echo(puts[0]));
  EXPECT_TRUE(has_echo(puts[1]));
  auto now = c.data.value(Path{3, 0, 13});
  ASSERT_TRUE(now.has_value());
  EXPECT_GE(now->as_number().value_or(0), 1'900'000'000);

  auto offset = op(Operation::kWrite, Path{3, 0, 14});
  offset.format = ContentFormat::kTlv;
  (void)offset.content.set(Path{3, 0, 14}, Value("+01:00"));
  EXPECT_EQ(code_of(call(n.net, server.server, "clock", offset)), codes::kChanged);
  EXPECT_EQ(sent_with(n.net, kServerAddress, codes::kPut, "/3/0/14").size(), 1u);
}

// Raw bytes from the server's address: a replayed or forged Current Time write is refused
// with 4.01 and a fresh Echo, and the clock keeps its time.
TEST(Freshness, ReplayedCurrentTimeWriteChangesNothing) {
  GatedClient g(FreshnessRules{Duration{0}, true}, "replay");
  ASSERT_TRUE(g.registered);
  auto& n = g.n;
  auto& c = g.c;
  const double before = c.data.value(Path{3, 0, 13})->as_number().value_or(0);

  n.net.add_raw(kServerAddress);
  auto write = [&](std::optional<Bytes> echo, const char* seconds = "1000") {
    Message m = coap::make_request(codes::kPut, "/3/0/13");
    m.message_id = static_cast<std::uint16_t>(4000 + n.net.raw_inbox(kServerAddress).size());
    m.token = {0x77, static_cast<std::uint8_t>(m.message_id)};
    m.set_content_format(0);
    m.payload = to_bytes(seconds);
    if (echo) m.options.set(coap::option::kEcho, *echo);
    n.net.send_raw(kServerAddress, kClientAddress, m);
    n.net.run_for(Duration{1'000});
    return n.net.raw_inbox(kServerAddress).back();
  };
  const Packet plain = write(std::nullopt);
  ASSERT_TRUE(plain.message);
  EXPECT_EQ(plain.message->code, codes::kUnauthorized);
  ASSERT_TRUE(has_echo(plain));
  const Packet forged = write(Bytes{1, 2, 3, 4, 5, 6, 7, 8});
  EXPECT_EQ(forged.message->code, codes::kUnauthorized);
  // The value it was given, 61 s later: too old (RFC 9175 freshness is 60 s).
  const Bytes issued = plain.message->options.find(coap::option::kEcho)->value.bytes();
  n.net.run_for(Duration{61'000});
  const Packet stale = write(issued);
  EXPECT_EQ(stale.message->code, codes::kUnauthorized);
  EXPECT_GE(c.data.value(Path{3, 0, 13})->as_number().value_or(0), before);
  // The fresh value it is given now works: the time is set.
  const Bytes fresh = stale.message->options.find(coap::option::kEcho)->value.bytes();
  EXPECT_EQ(write(fresh).message->code, codes::kChanged);
  const double set = c.data.value(Path{3, 0, 13})->as_number().value_or(0);
  EXPECT_LT(set, before);
  // A fresh write of a time no clock can hold (it would overflow the milliseconds) leaves
  // the clock where it was.
  EXPECT_EQ(write(fresh, "9223372036854775807").message->code, codes::kChanged);
  EXPECT_NEAR(c.data.value(Path{3, 0, 13})->as_number().value_or(0), set, 5);
}

// --echo-after-silence on a client: the server's first unsafe request and the first after
// a silence prove themselves; one in conversation does not.
TEST(Freshness, ClientAsksSilentServersForEcho) {
  GatedClient g(FreshnessRules{Duration{60'000}, false}, "quiet");
  ASSERT_TRUE(g.registered);
  auto& n = g.n;
  auto& server = g.server;
  auto& c = g.c;
  auto create = [&] {
    auto r = op(Operation::kCreate, Path{3311});
    r.format = ContentFormat::kTlv;
    (void)r.content.set(Path{3311, lwm2m::Path::kUnassigned, 5850}, Value(true));
    return code_of(call(n.net, server.server, "quiet", r));
  };
  EXPECT_EQ(create(), codes::kCreated);
  EXPECT_EQ(challenges(n.net, kClientAddress), 1u);
  EXPECT_EQ(create(), codes::kCreated);
  EXPECT_EQ(challenges(n.net, kClientAddress), 1u);
  // A read does not need freshness, nor does it end a silence.
  n.net.run_for(Duration{61'000});
  EXPECT_EQ(code_of(call(n.net, server.server, "quiet", op(Operation::kRead, Path{3, 0}))),
            codes::kContent);
  EXPECT_EQ(create(), codes::kCreated);
  EXPECT_EQ(challenges(n.net, kClientAddress), 2u);
  EXPECT_EQ(c.lights->instances().size(), 3u);
}

}  // namespace
}  // namespace tether::client
