// Transport TS 5.5 end to end: our client and our server talking OSCORE (RFC 8613) over
// CoAP/UDP and CoAP/TCP on the simulated network: the account's OSCORE instance (/21) and
// link (/0/x/17) on the client, credentials in mode oscore on the server, and the refusals
// of RFC 8613 section 8 and Transport TS 5.5.5.
#include <gtest/gtest.h>

#include "client/client_fixture.hpp"
#include "oscore/keyring.hpp"
#include "oscore/protection.hpp"

namespace tether::client {
namespace {

using coap::Message;
using coap::sim::Packet;
namespace codes = coap::codes;
using lwm2m::Operation;
using server::ServerEvent;
using server::testing::kServerAddress;
using namespace testing;

const Bytes kSecret = *from_hex("0102030405060708090a0b0c0d0e0f10");
const Bytes kSalt = *from_hex("9e7ca92223786340");
const Bytes kClientId = {0x01};
const Bytes kServerId = {0x02};

coap::EndpointConfig protected_by(oscore::Keyring& keyring, const char* carrier,
                                  coap::Carrier kind) {
  coap::EndpointConfig c;
  c.carrier = kind;
  c.decorator = std::make_shared<oscore::OscoreDecorator>(keyring.peers(carrier));
  return c;
}

server::Credentials oscore_credentials(const std::string& ep, Bytes secret = kSecret) {
  server::Credentials c;
  c.endpoint = ep;
  c.kind = server::Credentials::Kind::kOscore;
  c.oscore.master_secret = std::move(secret);
  c.oscore.master_salt = kSalt;
  c.oscore.sender_id = kClientId;
  c.oscore.recipient_id = kServerId;
  return c;
}

// Transport TS 5.5.3: OSCORE instance /21/`instance` with these keys, linked from Security
// instance /0/`instance`.
void link_oscore(DataModel& data, std::uint16_t instance, const Bytes& secret, const Bytes& sender,
                 const Bytes& recipient) {
  (void)data.put(Path{21, instance, 0}, Value(secret));
  (void)data.put(Path{21, instance, 1}, Value(sender));
  (void)data.put(Path{21, instance, 2}, Value(recipient));
  (void)data.put(Path{0, instance, 17}, Value(lwm2m::Objlnk{21, instance}));
}

bool oscore_protected(const Packet& p) {
  return p.message && oscore::is_protected(*p.message);
}

// Our server and client, each with its keyring; the client's account links OSCORE
// instance /21/0 unless `secret` is empty.
struct OscoreSession {
  OscoreSession(const std::string& ep, coap::Carrier kind, Bytes secret = kSecret)
      : n{SimNetwork(kind), {}},
        stream(kind == coap::Carrier::kStream),
        server(n.net, n.store, {}, protected_by(server_ring, "udp", kind)),
        c(n.net, config_for(ep), kClientAddress,
          protected_by(client_ring, stream ? "coap+tcp" : "coap", kind)) {
    server.server.use_oscore(server_ring);
    c.client.use_oscore(client_ring);
    if (stream) c.client.attach(c.transport, "coap+tcp");
    c.add_server(101, stream ? "coap+tcp://10.0.0.1:1" : kServerUri, 300);
    if (stream) (void)c.data.put(Path{1, 0, 7}, Value("T"));
    if (!secret.empty()) {
      link_oscore(c.data, 0, secret, kClientId, kServerId);
      (void)c.data.put(Path{21, 0, 5}, Value(kSalt));
    }
  }
  bool start(const std::string& ep) {
    c.client.start();
    return n.net.run_until([&] { return server.server.find(ep) != nullptr; }, Duration{30'000});
  }
  // Data packets between the two that are not OSCORE-protected (empty ACKs and CSMs aside).
  std::size_t plain_exchanges() const {
    std::size_t plain = 0;
    for (coap::PeerId from : {kClientAddress, kServerAddress}) {
      plain += n.net.count(from, [](const Packet& p) {
        return p.message && !p.message->code.is_empty() && !p.message->code.is_signaling() &&
               !oscore::is_protected(*p.message);
      });
    }
    return plain;
  }

  oscore::Keyring server_ring;
  oscore::Keyring client_ring;
  Network n;
  bool stream;
  ServerHarness server;
  ClientHarness c;
};

class OscoreOver : public ::testing::TestWithParam<coap::Carrier> {};

TEST_P(OscoreOver, AWholeLwm2mSessionTravelsProtected) {
  OscoreSession s("os-dev", GetParam());
  ASSERT_TRUE(s.server.server.put_credentials(oscore_credentials("os-dev")));
  ASSERT_TRUE(s.start("os-dev"));
  auto& net = s.n.net;
  auto& srv = s.server.server;

  // Read, Write, Execute, Observe with a notification, block-wise Write, Send.
  auto read = call(net, srv, "os-dev", op(Operation::kRead, Path{3, 0, 0}));
  ASSERT_EQ(code_of(read), lwm2m::status::kContent);
  const Value* manufacturer = read.response->content.find_value(Path{3, 0, 0});
  ASSERT_NE(manufacturer, nullptr);
  EXPECT_EQ(*manufacturer, Value("Tether"));

  auto write = op(Operation::kWrite, Path{1, 0, 1});
  ASSERT_TRUE(write.content.set(Path{1, 0, 1}, Value(std::int64_t{600})));
  EXPECT_EQ(code_of(call(net, srv, "os-dev", write)), lwm2m::status::kChanged);
  EXPECT_EQ(s.c.data.value(Path{1, 0, 1})->as_number(), 600);

  const auto updates = s.server.events_of(ServerEvent::Kind::kUpdated).size();
  EXPECT_EQ(code_of(call(net, srv, "os-dev", op(Operation::kExecute, Path{1, 0, 8}))),
            lwm2m::status::kChanged);
  net.run_until([&] { return s.server.events_of(ServerEvent::Kind::kUpdated).size() > updates; },
                Duration{30'000});
  EXPECT_GT(s.server.events_of(ServerEvent::Kind::kUpdated).size(), updates);

  EXPECT_EQ(code_of(call(net, srv, "os-dev", op(Operation::kObserve, Path{3303, 0, 5700}))),
            lwm2m::status::kContent);
  const auto notified = s.server.events_of(ServerEvent::Kind::kNotification).size();
  s.c.temperature->tick(5.0);
  net.run_until(
      [&] { return s.server.events_of(ServerEvent::Kind::kNotification).size() > notified; },
      Duration{60'000});
  EXPECT_GT(s.server.events_of(ServerEvent::Kind::kNotification).size(), notified);

  auto package = op(Operation::kWrite, Path{5, 0, 0});
  Bytes image(5000);
  for (std::size_t i = 0; i < image.size(); ++i) image[i] = static_cast<std::uint8_t>(i * 7);
  ASSERT_TRUE(package.content.set(Path{5, 0, 0}, Value(image)));
  EXPECT_EQ(code_of(call(net, srv, "os-dev", package)), lwm2m::status::kChanged);

  std::optional<Result<lwm2m::Status>> sent;
  s.c.client.send(101, {Path{3, 0, 0}}, [&](Result<lwm2m::Status> r) { sent = r; });
  net.run_until([&] { return sent.has_value(); }, Duration{30'000});
  ASSERT_TRUE(sent && *sent);
  EXPECT_EQ(**sent, lwm2m::status::kChanged);

  // New credentials with the same keys keep the server's sequence numbers ahead of those
  // it used (RFC 8613 B.1.1): a crash right after the PUT reuses no nonce.
  const auto used = s.server_ring.find("os-dev")->sender_sequence();
  EXPECT_GT(used, 0u);
  ASSERT_TRUE(srv.put_credentials(oscore_credentials("os-dev")));
  EXPECT_GT(srv.credentials("os-dev")->oscore.sequence_bound, used);
  EXPECT_GT(s.server_ring.find("os-dev")->sender_sequence(), used);

  // Nothing but OSCORE went between them, and the device name never crossed in clear.
  EXPECT_EQ(s.plain_exchanges(), 0u);
  EXPECT_EQ(net.count(kClientAddress,
                      [](const Packet& p) {
                        const std::string text(p.bytes.begin(), p.bytes.end());
                        return text.find("os-dev") != std::string::npos;
                      }),
            0u);
}

INSTANTIATE_TEST_SUITE_P(Carriers, OscoreOver,
                         ::testing::Values(coap::Carrier::kDatagram, coap::Carrier::kStream),
                         [](const ::testing::TestParamInfo<coap::Carrier>& p) {
                           return p.param == coap::Carrier::kDatagram ? "Udp" : "Tcp";
                         });

// The keyring keeps only a few peers bound per endpoint: a server request to a peer whose
// binding went still leaves protected (fail closed), never in clear.
TEST(OscoreSession, AServerRequestToAnUnboundPeerStillGoesProtected) {
  OscoreSession s("os-dev", coap::Carrier::kDatagram);
  ASSERT_TRUE(s.server.server.put_credentials(oscore_credentials("os-dev")));
  ASSERT_TRUE(s.start("os-dev"));
  ASSERT_NE(s.server_ring.bound_name("udp", kClientAddress), nullptr);
  s.server_ring.unbind("udp", kClientAddress);
  auto read = call(s.n.net, s.server.server, "os-dev", op(Operation::kRead, Path{3, 0, 0}));
  EXPECT_EQ(code_of(read), lwm2m::status::kContent);
  EXPECT_EQ(s.plain_exchanges(), 0u);
}

// RFC 8613 B.1.3: a restarted server no longer knows an OSCORE observation's last
// notification number, so it observes again under the same observation id instead of
// accepting notifications it cannot check; the API user's observation keeps notifying.
TEST(OscoreSession, ARestartedServerObservesAgainUnderTheSameId) {
  Network n;
  oscore::Keyring client_ring;
  ClientHarness c(n.net, config_for("os-dev"), kClientAddress,
                  protected_by(client_ring, "coap", coap::Carrier::kDatagram));
  c.client.use_oscore(client_ring);
  c.add_server(101, kServerUri, 300);
  link_oscore(c.data, 0, kSecret, kClientId, kServerId);
  (void)c.data.put(Path{21, 0, 5}, Value(kSalt));
  std::string observation;
  {
    oscore::Keyring ring;
    ServerHarness first(n.net, n.store, {}, protected_by(ring, "udp", coap::Carrier::kDatagram));
    first.server.use_oscore(ring);
    ASSERT_TRUE(first.server.put_credentials(oscore_credentials("os-dev")));
    c.client.start();
    ASSERT_TRUE(
        n.net.run_until([&] { return first.server.find("os-dev") != nullptr; }, Duration{30'000}));
    auto observed =
        call(n.net, first.server, "os-dev", op(Operation::kObserve, Path{3303, 0, 5700}));
    ASSERT_EQ(code_of(observed), lwm2m::status::kContent);
    observation = observed.observation_id;
    ASSERT_FALSE(observation.empty());
    first.server.shutdown();
  }
  oscore::Keyring ring;
  ServerHarness second(n.net, n.store, {}, protected_by(ring, "udp", coap::Carrier::kDatagram));
  second.server.use_oscore(ring);
  ASSERT_TRUE(second.server.restore());
  n.net.run_until([&] { return second.server.observations("os-dev").size() == 1; },
                  Duration{30'000});
  ASSERT_EQ(second.server.observations("os-dev").size(), 1u);
  EXPECT_EQ(second.server.observations("os-dev")[0].id, observation);

  c.temperature->tick(5.0);
  n.net.run_until([&] { return !second.events_of(ServerEvent::Kind::kNotification).empty(); },
                  Duration{60'000});
  const auto notes = second.events_of(ServerEvent::Kind::kNotification);
  ASSERT_FALSE(notes.empty());
  EXPECT_EQ(notes.back().observation_id, observation);
  EXPECT_TRUE(second.events_of(ServerEvent::Kind::kObservationEnded).empty());
}

// A client whose bootstrap account links an OSCORE instance refuses plain requests from the
// Bootstrap-Server's address from the start, before it ever spoke to it: a forged,
// server-initiated Bootstrap-Delete changes nothing.
TEST(OscoreSession, AForgedPlainBootstrapRequestIsRefused) {
  Network n;
  oscore::Keyring client_ring;
  ClientHarness c(n.net, config_for("bs-dev"), kClientAddress,
                  protected_by(client_ring, "coap", coap::Carrier::kDatagram));
  c.client.use_oscore(client_ring);
  c.add_server(101, kServerUri, 300);
  c.add_bootstrap_server(kBootstrapUri);
  link_oscore(c.data, 9, *from_hex("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"), Bytes{0xb1}, Bytes{0xb2});
  c.client.start();
  n.net.add_raw(kBootstrapAddress);
  Message forged = coap::make_request(codes::kDelete, "/");
  forged.message_id = 99;
  n.net.send_raw(kBootstrapAddress, kClientAddress, forged);
  n.net.run_for(Duration{1'000});
  ASSERT_FALSE(n.net.raw_inbox(kBootstrapAddress).empty());
  EXPECT_EQ(n.net.raw_inbox(kBootstrapAddress).back().message->code, codes::kUnauthorized);
  EXPECT_TRUE(c.data.exists(Path{0, 0}));  // the server account is still there
}

TEST(OscoreSession, AWrongSecretRegistersNothing) {
  OscoreSession s("os-dev", coap::Carrier::kDatagram,
                  *from_hex("ffff030405060708090a0b0c0d0e0f10"));
  ASSERT_TRUE(s.server.server.put_credentials(oscore_credentials("os-dev")));
  EXPECT_FALSE(s.start("os-dev"));
  // RFC 8613 8.2: the request does not decrypt: 4.00, unprotected.
  EXPECT_GT(s.n.net.count(kServerAddress,
                          [](const Packet& p) {
                            return coap::sim::is_code(p, codes::kBadRequest) &&
                                   !oscore_protected(p);
                          }),
            0u);
  EXPECT_TRUE(s.server.events_of(ServerEvent::Kind::kRegistered).empty());
}

TEST(OscoreSession, AContextBelongsToOneEndpoint) {
  // Transport TS 5.5.5: os-dev's keys do not make their holder another device.
  OscoreSession s("other-dev", coap::Carrier::kDatagram);
  ASSERT_TRUE(s.server.server.put_credentials(oscore_credentials("os-dev")));
  EXPECT_FALSE(s.start("other-dev"));
  EXPECT_EQ(s.server.server.registration_count(), 0u);
  const auto refused = s.server.events_of(ServerEvent::Kind::kRefused);
  ASSERT_FALSE(refused.empty());
  EXPECT_NE(refused.front().detail.find("4.00"), std::string::npos) << refused.front().detail;
}

TEST(OscoreSession, APlainClientCannotTakeAnOscoreEndpoint) {
  OscoreSession s("os-dev", coap::Carrier::kDatagram, Bytes{});
  ASSERT_TRUE(s.server.server.put_credentials(oscore_credentials("os-dev")));
  EXPECT_FALSE(s.start("os-dev"));
  EXPECT_EQ(s.server.server.registration_count(), 0u);
  EXPECT_GT(s.n.net.count(kServerAddress,
                          [](const Packet& p) { return coap::sim::is_code(p, codes::kForbidden); }),
            0u);
}

TEST(OscoreSession, ReplayedAndAlteredRequestsAreRefused) {
  OscoreSession s("os-dev", coap::Carrier::kDatagram);
  ASSERT_TRUE(s.server.server.put_credentials(oscore_credentials("os-dev")));
  ASSERT_TRUE(s.start("os-dev"));
  auto& net = s.n.net;
  const auto reg = net.sent(kClientAddress, [](const Packet& p) {
    return p.message && p.message->code == codes::kPost && oscore_protected(p);
  });
  ASSERT_FALSE(reg.empty());
  // The Register again, as an attacker on the path would replay it (a new message ID so
  // the deduplication of RFC 7252 does not hide it).
  Message replay = *reg.front().message;
  replay.message_id = static_cast<std::uint16_t>(replay.message_id + 1000);
  net.send_raw(kClientAddress, kServerAddress, replay);
  net.settle();
  EXPECT_EQ(net.count(kServerAddress,
                      [](const Packet& p) { return coap::sim::is_code(p, codes::kUnauthorized); }),
            1u);
  Message altered = *reg.front().message;
  altered.message_id = static_cast<std::uint16_t>(altered.message_id + 2000);
  altered.payload.back() ^= 0x01;
  // A fresh Partial IV so that it is not refused as a replay first.
  altered.options.set(coap::option::kOscore, Bytes{0x09, 0x40, 0x01});
  net.send_raw(kClientAddress, kServerAddress, altered);
  net.settle();
  EXPECT_EQ(net.count(kServerAddress,
                      [](const Packet& p) { return coap::sim::is_code(p, codes::kBadRequest); }),
            1u);
  EXPECT_EQ(s.server.events_of(ServerEvent::Kind::kRegistered).size(), 1u);
}

// Transport TS 5.5.3 and seed 003: the client holds only an OSCORE bootstrap account; the
// bootstrap server, reached over OSCORE, hands out an OSCORE server account, with which the
// client then registers. Nothing crosses in clear.
TEST(OscoreSession, BootstrapOverOscoreHandsOutAnOscoreAccount) {
  Network n;
  oscore::Keyring server_ring;
  oscore::Keyring bootstrap_ring;
  oscore::Keyring client_ring;
  ServerHarness server(n.net, n.store, {},
                       protected_by(server_ring, "udp", coap::Carrier::kDatagram));
  server.server.use_oscore(server_ring);
  ASSERT_TRUE(server.server.put_credentials(oscore_credentials("bs-dev")));
  bootstrap::BootstrapServerConfig bs_config;
  BootstrapHarness bs(n.net, bs_config,
                      protected_by(bootstrap_ring, "udp", coap::Carrier::kDatagram));
  bs.bs.use_oscore(bootstrap_ring);
  bs.configure("bs-dev", R"({
    "credentials": {"mode": "oscore", "masterSecret": "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
                    "senderId": "b1", "recipientId": "b2"},
    "security": {"1": {"uri": "coap://10.0.0.1:1", "mode": "nosec", "shortServerId": 101,
                       "oscore": "21:1"}},
    "oscore": {"1": {"masterSecret": {"hex": "0102030405060708090a0b0c0d0e0f10"},
                     "senderId": {"hex": "01"}, "recipientId": {"hex": "02"},
                     "masterSalt": {"hex": "9e7ca92223786340"}}},
    "servers": {"1": {"shortServerId": 101, "lifetime": 300, "binding": "U"}}})");
  ClientHarness c(n.net, config_for("bs-dev"), kClientAddress,
                  protected_by(client_ring, "coap", coap::Carrier::kDatagram));
  c.client.use_oscore(client_ring);
  c.add_bootstrap_server(kBootstrapUri);
  link_oscore(c.data, 9, *from_hex("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"), Bytes{0xb1}, Bytes{0xb2});

  ASSERT_TRUE(start_and_register(n, server, c, "bs-dev"));
  EXPECT_EQ(c.count(ClientEvent::Kind::kBootstrapped), 1u);
  EXPECT_EQ(code_of(call(n.net, server.server, "bs-dev", op(Operation::kRead, Path{3, 0, 0}))),
            lwm2m::status::kContent);
  for (coap::PeerId from : {kClientAddress, kServerAddress, kBootstrapAddress}) {
    EXPECT_EQ(n.net.count(from,
                          [](const Packet& p) {
                            return p.message && !p.message->code.is_empty() &&
                                   !oscore::is_protected(*p.message);
                          }),
              0u)
        << "plain CoAP from " << from;
  }
}

}  // namespace
}  // namespace tether::client
