// The (D)TLS layer with real GnuTLS sessions on the simulated network and virtual time:
// handshakes in every credential mode, the failures of Transport TS 5.2.10 with their
// alerts, cookies, resumption, loss, TLS over a stream, and credential renewal.
#include "tls/secure_layer.hpp"

#include <gtest/gtest.h>

#include "coap/sim_network.hpp"
#include "support/test_pki.hpp"
#include "tls/gnutls/gnutls_backend.hpp"
#include "tls/gnutls/gnutls_clock.hpp"
#include "tls/null/null_backend.hpp"

namespace tether::tls {
namespace {

using coap::Message;
using coap::PeerId;
using coap::sim::SimNetwork;
using tether::testing::CertSpec;
using tether::testing::named;
using tether::testing::TestPki;
namespace codes = coap::codes;

constexpr PeerId kServer = 1;
constexpr PeerId kClient = 2;

// An endpoint behind a security layer, joined to the network.
struct SecureNode {
  SecureNode(SimNetwork& net, PeerId at, Backend& backend, SecureLayerConfig config)
      : node(coap::EndpointConfig{}, at * 13), layer(config, backend, node.endpoint) {
    net.add(at, layer);
    layer.set_event_handler([this](const SecureEvent& e) { events.push_back(e); });
    node.endpoint.set_request_handler(
        [this, &net](PeerId, const Message& request, coap::Responder responder) {
          Message r = coap::make_response(request, codes::kContent);
          r.payload = to_bytes("hello " + request.path());
          ++requests;
          responder.respond(std::move(r), net.now());
        });
  }
  const SecureEvent* last(SecureEvent::Kind kind) const {
    for (auto it = events.rbegin(); it != events.rend(); ++it) {
      if (it->kind == kind) return &*it;
    }
    return nullptr;
  }
  coap::sim::Node node;
  SecureLayer layer;
  std::vector<SecureEvent> events;
  int requests = 0;
};

Bytes psk_key() {
  return to_bytes("0123456789abcdef");
}

class SecureLayerTest : public ::testing::Test {
 protected:
  explicit SecureLayerTest(coap::Carrier carrier = coap::Carrier::kDatagram) : net(carrier) {
    tls::testing::use_virtual_time([this] { return net.now(); }, coap::sim::epoch(),
                                   static_cast<std::int64_t>(std::time(nullptr)) * 1000);
    server_credentials.psk_key_for = [this](ByteView id) -> std::optional<Bytes> {
      if (to_string(id) != "device-1") return std::nullopt;
      return server_psk;
    };
    server_credentials.knows_public_key = [this](ByteView spki) {
      return Bytes(spki.begin(), spki.end()) == client_key.public_key;
    };
  }

  ~SecureLayerTest() override { tls::testing::use_real_time(); }

  // Builds the server with the credentials set so far, and a client.
  void start(Carriage carriage = Carriage::kDatagram) {
    GnutlsOptions so;
    so.server = server_credentials;
    so.ticket_key = ticket_key;
    server_backend = std::make_unique<GnutlsBackend>(so);
    SecureLayerConfig sc;
    sc.role = Role::kServer;
    sc.carriage = carriage;
    server = std::make_unique<SecureNode>(net, kServer, *server_backend, sc);
    SecureLayerConfig cc;
    cc.carriage = carriage;
    client = std::make_unique<SecureNode>(net, kClient, client_backend, cc);
  }

  // A GET from the client; the answer's payload, or the failure.
  Result<std::string> get(const std::string& path, Duration max = Duration{120'000}) {
    std::optional<Result<Message>> got;
    client->node.endpoint.request(
        kServer, coap::sim::get(path), [&](Result<Message> r) { got = std::move(r); }, net.now());
    net.run_until([&] { return got.has_value(); }, max);
    if (!got) return fail("no answer");
    if (!*got) return got->error();
    return to_string((*got)->payload);
  }

  // Raw public keys: the client's key pair, pinning `server_public_key` (its own public key
  // is left for the backend to derive).
  ClientCredentials rpk_client(Bytes server_public_key) {
    ClientCredentials c;
    c.mode = Mode::kRawPublicKey;
    c.private_key = client_key.private_key;
    c.server_public_key = std::move(server_public_key);
    return c;
  }

  ClientCredentials psk_client(const std::string& identity = "device-1") {
    ClientCredentials c;
    c.mode = Mode::kPsk;
    c.psk_identity = to_bytes(identity);
    c.psk_key = psk_key();
    return c;
  }

  SimNetwork net;
  Bytes ticket_key;  // empty: the backend makes its own
  Bytes server_psk = psk_key();
  ServerCredentials server_credentials;
  tether::testing::TestKey client_key = tether::testing::make_key();
  std::unique_ptr<GnutlsBackend> server_backend;
  GnutlsBackend client_backend;
  std::unique_ptr<SecureNode> server;
  std::unique_ptr<SecureNode> client;
};

TEST_F(SecureLayerTest, PskHandshakeCarriesCoapAndTellsTheServerWhoItIs) {
  start();
  client->layer.set_credentials(kServer, psk_client(), net.now());
  auto answer = get("/a");
  ASSERT_TRUE(answer) << answer.error().reason;
  EXPECT_EQ(*answer, "hello /a");
  const PeerIdentity* who = server->layer.identity(kClient);
  ASSERT_NE(who, nullptr);
  EXPECT_EQ(who->kind, PeerIdentity::Kind::kPsk);
  EXPECT_EQ(who->psk_identity, "device-1");
  EXPECT_EQ(who->cipher_suite, "TLS_PSK_WITH_AES_128_CCM_8");
  // Nothing went in the clear.
  for (const auto& p : net.log()) {
    const std::string text = to_string(p.bytes);
    EXPECT_EQ(text.find("hello"), std::string::npos);
  }
  EXPECT_EQ(server->layer.half_open_count(), 0u);
  EXPECT_EQ(server->layer.session_count(), 1u);
}

TEST_F(SecureLayerTest, ServerAnswersAFirstClientHelloWithACookieAndNoState) {
  start();
  client->layer.set_credentials(kServer, psk_client(), net.now());
  ASSERT_TRUE(get("/a"));
  // Packet 1 is the ClientHello, packet 2 the HelloVerifyRequest (handshake type 3).
  ASSERT_GE(net.log().size(), 3u);
  const auto& hvr = net.log()[1];
  EXPECT_EQ(hvr.from, kServer);
  ASSERT_GT(hvr.bytes.size(), 13u);
  EXPECT_EQ(hvr.bytes[13], 3);
  EXPECT_LT(hvr.bytes.size(), 64u);
}

TEST_F(SecureLayerTest, HalfOpenHandshakesAreBounded) {
  start();
  // Two server nodes would be needed to exceed a cap of one; a cap of zero refuses all.
  SecureLayerConfig sc;
  sc.role = Role::kServer;
  sc.max_half_open = 0;
  net.remove(kServer);
  server = std::make_unique<SecureNode>(net, kServer, *server_backend, sc);
  client->layer.set_credentials(kServer, psk_client(), net.now());
  auto answer = get("/a", Duration{20'000});
  EXPECT_FALSE(answer);
  EXPECT_EQ(server->layer.session_count(), 0u);
}

TEST_F(SecureLayerTest, UnknownPskIdentityFailsWithAlert115) {
  start();
  client->layer.set_credentials(kServer, psk_client("stranger"), net.now());
  auto answer = get("/a");
  EXPECT_FALSE(answer);
  const auto* failed = client->last(SecureEvent::Kind::kFailed);
  ASSERT_NE(failed, nullptr);
  EXPECT_EQ(failed->failure.alert_received, alert::kUnknownPskIdentity);
  EXPECT_EQ(failed->failure.recovery, Recovery::kFail);
  EXPECT_EQ(server->requests, 0);
}

TEST_F(SecureLayerTest, WrongPskTimesOutAsRetry) {
  server_psk = to_bytes("another key 1234");
  start();
  client->layer.set_credentials(kServer, psk_client(), net.now());
  auto answer = get("/a", Duration{200'000});
  EXPECT_FALSE(answer);
  const auto* failed = client->last(SecureEvent::Kind::kFailed);
  ASSERT_NE(failed, nullptr);
  EXPECT_EQ(failed->failure.recovery, Recovery::kRetry);
  EXPECT_EQ(server->requests, 0);
}

// Over SMS a client keeps its address (its MSISDN) when it starts over: a hello with a new
// client random must replace the half-open handshake, not wait for it to time out.
TEST_F(SecureLayerTest, AClientStartingOverMidHandshakeIsAnsweredAtOnce) {
  start();
  auto wrong = psk_client();
  wrong.psk_key = to_bytes("another key 1234");
  client->layer.set_credentials(kServer, wrong, net.now());
  // The server waits for a Finished it cannot read; this request ends when the client
  // starts over below.
  auto first = std::make_shared<std::optional<Result<Message>>>();
  client->node.endpoint.request(
      kServer, coap::sim::get("/a"), [first](Result<Message> r) { *first = std::move(r); },
      net.now());
  net.run_until([] { return false; }, Duration{3'000});
  EXPECT_FALSE(first->has_value());
  client->layer.set_credentials(kServer, psk_client(), net.now());
  auto answer = get("/b", Duration{20'000});
  ASSERT_TRUE(answer) << answer.error().reason;
  EXPECT_EQ(*answer, "hello /b");
}

TEST_F(SecureLayerTest, HandshakeSurvivesLossThroughRetransmission) {
  start();
  client->layer.set_credentials(kServer, psk_client(), net.now());
  net.drop_nth(1);  // the first ClientHello
  net.drop_nth(4);  // the server's first full flight
  auto answer = get("/a");
  ASSERT_TRUE(answer) << answer.error().reason;
}

TEST_F(SecureLayerTest, ReconnectionResumesTheSession) {
  start();
  client->layer.set_credentials(kServer, psk_client(), net.now());
  ASSERT_TRUE(get("/a"));
  client->layer.reset(kServer, net.now());
  net.settle();
  EXPECT_EQ(server->layer.session_count(), 0u);  // close_notify reached it
  ASSERT_TRUE(get("/b"));
  const auto* up = client->last(SecureEvent::Kind::kEstablished);
  ASSERT_NE(up, nullptr);
  EXPECT_TRUE(up->identity.resumed);
  ASSERT_NE(server->layer.identity(kClient), nullptr);
  EXPECT_EQ(server->layer.identity(kClient)->psk_identity, "device-1");
}

// Several server nodes (docs/redis.md): the load balancer moves a device to another node,
// which resumes its session when the nodes share the ticket key, and makes a full
// handshake when they do not.
TEST_F(SecureLayerTest, AnotherNodeWithTheSameTicketKeyResumesTheSession) {
  ticket_key = Bytes(kTicketKeySize, 0x5a);
  start();
  client->layer.set_credentials(kServer, psk_client(), net.now());
  ASSERT_TRUE(get("/a"));
  for (const bool shared : {true, false}) {
    client->layer.reset(kServer, net.now());
    net.settle();
    GnutlsOptions other;
    other.server = server_credentials;
    other.ticket_key = shared ? ticket_key : Bytes(kTicketKeySize, 0x33);
    auto node_b = std::make_unique<GnutlsBackend>(other);
    net.remove(kServer);
    SecureLayerConfig sc;
    sc.role = Role::kServer;
    server = std::make_unique<SecureNode>(net, kServer, *node_b, sc);
    ASSERT_TRUE(get(shared ? "/b" : "/c"));
    const auto* up = client->last(SecureEvent::Kind::kEstablished);
    ASSERT_NE(up, nullptr);
    EXPECT_EQ(up->identity.resumed, shared);
    EXPECT_EQ(server->layer.identity(kClient)->psk_identity, "device-1");
    server_backend = std::move(node_b);
  }
  GnutlsOptions bad;
  bad.server = server_credentials;
  bad.ticket_key = Bytes(16, 1);
  EXPECT_THROW(GnutlsBackend{bad}, std::runtime_error);
}

TEST_F(SecureLayerTest, EmptyOrForgedDatagramsDoNotEndASession) {
  start();
  client->layer.set_credentials(kServer, psk_client(), net.now());
  ASSERT_TRUE(get("/a"));
  // A zero-length UDP datagram (which a socket may deliver) is not an end of stream, and a
  // record that does not decrypt is dropped (RFC 6347 4.1.2.7), on both sides.
  const Bytes forged{23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 9, 0, 3, 1, 2, 3};
  for (auto* node : {server.get(), client.get()}) {
    const PeerId other = node == server.get() ? kClient : kServer;
    node->layer.receive(other, ByteView{}, net.now());
    node->layer.receive(other, forged, net.now());
    EXPECT_TRUE(node->layer.established(other));
  }
  auto answer = get("/b");
  ASSERT_TRUE(answer) << answer.error().reason;
  EXPECT_EQ(*answer, "hello /b");
}

TEST_F(SecureLayerTest, SessionsIdleBeyondTheTimeoutAreClosed) {
  start();
  SecureLayerConfig sc;
  sc.role = Role::kServer;
  sc.idle_timeout = Duration{60'000};
  net.remove(kServer);
  server = std::make_unique<SecureNode>(net, kServer, *server_backend, sc);
  client->layer.set_credentials(kServer, psk_client(), net.now());
  ASSERT_TRUE(get("/a"));
  net.run_for(Duration{40'000});
  ASSERT_TRUE(get("/b"));  // heard from again: the clock starts over
  net.run_for(Duration{40'000});
  EXPECT_TRUE(server->layer.established(kClient));
  net.run_for(Duration{25'000});
  EXPECT_FALSE(server->layer.established(kClient));
  EXPECT_EQ(server->layer.session_count(), 0u);
  EXPECT_FALSE(client->layer.established(kServer));  // close_notify told the client
  // The client comes back with a new handshake (resumed from its ticket).
  ASSERT_TRUE(get("/c"));
  EXPECT_TRUE(server->layer.established(kClient));
}

TEST_F(SecureLayerTest, NewCredentialsEndTheLiveSession) {
  start();
  client->layer.set_credentials(kServer, psk_client(), net.now());
  ASSERT_TRUE(get("/a"));
  auto renewed = psk_client();
  server_psk = to_bytes("fresh key 567890");
  renewed.psk_key = server_psk;
  client->layer.set_credentials(kServer, renewed, net.now());
  EXPECT_FALSE(client->layer.established(kServer));
  ASSERT_TRUE(get("/b"));
  const auto* up = client->last(SecureEvent::Kind::kEstablished);
  ASSERT_NE(up, nullptr);
  EXPECT_FALSE(up->identity.resumed);  // a full handshake with the new key
}

TEST_F(SecureLayerTest, RawPublicKeysBothWays) {
  auto server_key = tether::testing::make_key();
  server_credentials.private_key = server_key.private_key;
  start();
  auto c = rpk_client(server_key.public_key);
  c.own_public_key = client_key.public_key;
  client->layer.set_credentials(kServer, c, net.now());
  ASSERT_TRUE(get("/a"));
  const PeerIdentity* who = server->layer.identity(kClient);
  ASSERT_NE(who, nullptr);
  EXPECT_EQ(who->kind, PeerIdentity::Kind::kRawPublicKey);
  EXPECT_EQ(who->public_key, client_key.public_key);
  EXPECT_EQ(who->cipher_suite, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8");
}

TEST_F(SecureLayerTest, RawPublicKeyMismatchesFail) {
  auto server_key = tether::testing::make_key();
  server_credentials.private_key = server_key.private_key;
  start();
  auto c = rpk_client(tether::testing::make_key().public_key);  // not the server's
  client->layer.set_credentials(kServer, c, net.now());
  EXPECT_FALSE(get("/a"));
  auto* failed = client->last(SecureEvent::Kind::kFailed);
  ASSERT_NE(failed, nullptr);
  EXPECT_EQ(failed->failure.alert_sent, alert::kBadCertificate);
  EXPECT_EQ(failed->failure.recovery, Recovery::kFail);

  // And a client key the server does not know.
  c.server_public_key = server_key.public_key;
  c.private_key = tether::testing::make_key().private_key;
  client->layer.set_credentials(kServer, c, net.now());
  EXPECT_FALSE(get("/b"));
  failed = client->last(SecureEvent::Kind::kFailed);
  ASSERT_NE(failed, nullptr);
  EXPECT_EQ(failed->failure.alert_received, alert::kAccessDenied);
  EXPECT_EQ(failed->failure.recovery, Recovery::kFail);
  EXPECT_EQ(server->requests, 0);
}

TEST_F(SecureLayerTest, WeakCurveKeysAreRefused) {
  auto server_key = tether::testing::make_key();
  server_credentials.private_key = server_key.private_key;
  client_key = tether::testing::make_key(GNUTLS_ECC_CURVE_SECP192R1);
  start();
  client->layer.set_credentials(kServer, rpk_client(server_key.public_key), net.now());
  EXPECT_FALSE(get("/a"));
  EXPECT_EQ(server->requests, 0);
}

class CertificateTest : public SecureLayerTest {
 protected:
  void start_with(const CertSpec& server_spec) {
    server_cert = pki.issue(server_spec);
    server_credentials.private_key = server_cert.key.private_key;
    server_credentials.certificate_chain = server_cert.pem;
    server_credentials.client_trust_anchors = {pki.ca.pem};
    start();
  }
  ClientCredentials client_creds(std::uint8_t usage, Bytes server_public_key,
                                 const std::string& name = "lwm2m.example") {
    device_cert = pki.issue(named("device-1"));
    ClientCredentials c;
    c.mode = Mode::kCertificate;
    c.own_public_key = device_cert.pem;
    c.private_key = device_cert.key.private_key;
    c.server_public_key = std::move(server_public_key);
    c.certificate_usage = usage;
    c.server_name = name;
    return c;
  }
  const SecureEvent* client_failure() const { return client->last(SecureEvent::Kind::kFailed); }

  TestPki pki;
  tether::testing::TestCert server_cert;
  tether::testing::TestCert device_cert;
};

TEST_F(CertificateTest, ServerCertificateOnAWeakCurveIsRefused) {
  // A certificate for the right name from the trusted CA, but on secp192r1 (5.2.3).
  server_cert = tether::testing::make_certificate(
      named("lwm2m.example", {"lwm2m.example"}),
      tether::testing::make_key(GNUTLS_ECC_CURVE_SECP192R1), &pki.ca);
  server_credentials.private_key = server_cert.key.private_key;
  server_credentials.certificate_chain = server_cert.pem;
  server_credentials.client_trust_anchors = {pki.ca.pem};
  start();
  client->layer.set_credentials(kServer, client_creds(2, pki.ca.pem), net.now());
  EXPECT_FALSE(get("/a"));
  ASSERT_NE(client_failure(), nullptr);
  EXPECT_EQ(client_failure()->failure.alert_sent, alert::kInsufficientSecurity)
      << client_failure()->failure.describe();
  EXPECT_EQ(server->requests, 0);
}

TEST_F(CertificateTest, DomainIssuedCertificateAndClientCommonName) {
  start_with(named("lwm2m.example", {"lwm2m.example"}));
  client->layer.set_credentials(kServer, client_creds(3, server_cert.pem), net.now());
  ASSERT_TRUE(get("/a"));
  const PeerIdentity* who = server->layer.identity(kClient);
  ASSERT_NE(who, nullptr);
  EXPECT_EQ(who->kind, PeerIdentity::Kind::kCertificate);
  EXPECT_EQ(who->common_name, "device-1");
}

TEST_F(CertificateTest, TrustAnchorAssertionChecksTheName) {
  start_with(named("lwm2m.example", {"lwm2m.example"}));
  client->layer.set_credentials(kServer, client_creds(2, pki.ca.pem), net.now());
  ASSERT_TRUE(get("/a"));
}

TEST_F(CertificateTest, SniMismatchIsABadCertificate) {
  start_with(named("lwm2m.example", {"lwm2m.example"}));
  client->layer.set_credentials(kServer, client_creds(2, pki.ca.pem, "other.example"), net.now());
  EXPECT_FALSE(get("/a"));
  ASSERT_NE(client_failure(), nullptr);
  EXPECT_EQ(client_failure()->failure.alert_sent, alert::kBadCertificate);
  EXPECT_EQ(client_failure()->failure.recovery, Recovery::kFail);
}

TEST_F(CertificateTest, IpLiteralMatchesAnIpAddressName) {
  start_with(named("server", {}, {"10.0.0.1"}));
  client->layer.set_credentials(kServer, client_creds(2, pki.ca.pem, "10.0.0.1"), net.now());
  ASSERT_TRUE(get("/a"));
}

TEST_F(CertificateTest, ExpiredServerCertificateFailsWithAlert45) {
  auto spec = named("lwm2m.example", {"lwm2m.example"});
  spec.not_before = std::time(nullptr) - 10 * 86400;
  spec.not_after = std::time(nullptr) - 86400;
  start_with(spec);
  client->layer.set_credentials(kServer, client_creds(2, pki.ca.pem), net.now());
  EXPECT_FALSE(get("/a"));
  ASSERT_NE(client_failure(), nullptr);
  EXPECT_EQ(client_failure()->failure.alert_sent, alert::kCertificateExpired);
}

TEST_F(CertificateTest, UnknownCaFailsWithAlert48) {
  start_with(named("lwm2m.example", {"lwm2m.example"}));
  TestPki other("Some Other CA");
  client->layer.set_credentials(kServer, client_creds(2, other.ca.pem), net.now());
  EXPECT_FALSE(get("/a"));
  ASSERT_NE(client_failure(), nullptr);
  EXPECT_EQ(client_failure()->failure.alert_sent, alert::kUnknownCa);
  EXPECT_EQ(client_failure()->failure.recovery, Recovery::kFail);
}

TEST_F(CertificateTest, ServiceCertificateConstraintAndCaConstraint) {
  start_with(named("lwm2m.example", {"lwm2m.example"}));
  auto c = client_creds(1, server_cert.pem);
  c.trust_anchors = {pki.ca.pem};
  client->layer.set_credentials(kServer, c, net.now());
  ASSERT_TRUE(get("/a"));
  client->layer.reset(kServer, net.now());
  c = client_creds(0, pki.ca.pem);
  c.trust_anchors = {pki.ca.pem};
  client->layer.set_credentials(kServer, c, net.now());
  ASSERT_TRUE(get("/b"));
  // Usage 1 with another certificate than the server's fails.
  c = client_creds(1, pki.issue(named("lwm2m.example", {"lwm2m.example"})).pem);
  c.trust_anchors = {pki.ca.pem};
  client->layer.set_credentials(kServer, c, net.now());
  EXPECT_FALSE(get("/c"));
}

TEST_F(CertificateTest, ClientCertificateFromAnotherCaIsRefused) {
  start_with(named("lwm2m.example", {"lwm2m.example"}));
  TestPki other("Some Other CA");
  auto c = client_creds(3, server_cert.pem);
  auto stranger = other.issue(named("device-1"));
  c.own_public_key = stranger.pem;
  c.private_key = stranger.key.private_key;
  client->layer.set_credentials(kServer, c, net.now());
  EXPECT_FALSE(get("/a"));
  ASSERT_NE(client_failure(), nullptr);
  EXPECT_EQ(client_failure()->failure.alert_received, alert::kBadCertificate);
  EXPECT_EQ(client_failure()->failure.recovery, Recovery::kFail);
  EXPECT_EQ(server->requests, 0);
}

class StreamTest : public SecureLayerTest {
 protected:
  StreamTest() : SecureLayerTest(coap::Carrier::kStream) {}
};

TEST_F(StreamTest, TlsOverAStreamCarriesCoap) {
  start(Carriage::kStream);
  client->layer.set_credentials(kServer, psk_client(), net.now());
  net.connect(kClient, kServer);
  auto answer = get("/a");
  ASSERT_TRUE(answer) << answer.error().reason;
  EXPECT_EQ(*answer, "hello /a");
  ASSERT_NE(server->layer.identity(kClient), nullptr);
}

TEST(NullBackendTest, CarriesIdentityAndRefusesStrangers) {
  SimNetwork net;
  ServerCredentials sc;
  sc.psk_key_for = [](ByteView id) -> std::optional<Bytes> {
    if (to_string(id) == "known") return Bytes{1};
    return std::nullopt;
  };
  NullBackend server_backend(sc);
  NullBackend client_backend;
  SecureLayerConfig scfg;
  scfg.role = Role::kServer;
  SecureNode server(net, kServer, server_backend, scfg);
  SecureNode client(net, kClient, client_backend, SecureLayerConfig{});
  ClientCredentials c;
  c.psk_identity = to_bytes("known");
  client.layer.set_credentials(kServer, c, net.now());
  std::optional<Result<Message>> got;
  client.node.endpoint.request(
      kServer, coap::sim::get("/x"), [&](Result<Message> r) { got = std::move(r); }, net.now());
  ASSERT_TRUE(net.run_until([&] { return got.has_value(); }, Duration{10'000}));
  ASSERT_TRUE(*got);
  ASSERT_NE(server.layer.identity(kClient), nullptr);
  EXPECT_EQ(server.layer.identity(kClient)->psk_identity, "known");

  c.psk_identity = to_bytes("unknown");
  client.layer.set_credentials(kServer, c, net.now());
  got.reset();
  client.node.endpoint.request(
      kServer, coap::sim::get("/y"), [&](Result<Message> r) { got = std::move(r); }, net.now());
  ASSERT_TRUE(net.run_until([&] { return got.has_value(); }, Duration{10'000}));
  EXPECT_FALSE(*got);
  ASSERT_NE(client.layer.last_failure(kServer), nullptr);
  EXPECT_EQ(client.layer.last_failure(kServer)->alert_received, alert::kUnknownPskIdentity);
}

}  // namespace
}  // namespace tether::tls
