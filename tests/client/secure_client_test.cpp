// Our client, server and bootstrap server over DTLS (GnuTLS) on the simulated network and
// virtual time: a full LwM2M session with PSK, the endpoint-name check of Transport TS
// 5.2.6, the error handling of Table 5.2.10-1, credentials changing under a live session on
// either server (seed 000, and seed 001's account replacement), and firmware pulled over
// coaps.
#include <gtest/gtest.h>

#include "client/client_fixture.hpp"
#include "support/test_pki.hpp"
#include "tls/gnutls/gnutls_backend.hpp"
#include "tls/gnutls/gnutls_clock.hpp"

namespace tether::client {
namespace {

using lwm2m::Operation;
using server::DownlinkResult;
using namespace testing;

constexpr coap::PeerId kSecureServer = 3;
constexpr coap::PeerId kSecureClient = 19;
constexpr coap::PeerId kSecureBootstrap = 4;
const std::string kSecureUri = "coaps://10.0.0.1:3";
const std::string kSecureBootstrapUri = "coaps://10.0.0.1:4";

// A DTLS server backend that asks `engine` (a server or bootstrap server) what clients prove.
template <typename Engine>
std::unique_ptr<tls::GnutlsBackend> backend_asking(Engine& engine) {
  tls::GnutlsOptions o;
  o.server.emplace();
  o.server->psk_key_for = [&engine](ByteView id) { return engine.psk_key_for(id); };
  o.server->knows_public_key = [&engine](ByteView k) { return engine.knows_public_key(k); };
  return std::make_unique<tls::GnutlsBackend>(o);
}

struct SecureSetup {
  SecureSetup() {
    tls::testing::use_virtual_time([this] { return net.now(); }, coap::sim::epoch(),
                                   VirtualClock::kUnixBase);
  }
  ~SecureSetup() { tls::testing::use_real_time(); }

  // Our server on DTLS at kSecureServer, asking the server for the credentials on file.
  void start_server() {
    server = std::make_unique<ServerHarness>(net, store);
    server_backend = backend_asking(server->server);
    dtls = std::make_unique<SimTransport>(net, kSecureServer, 31, server_backend.get());
    server->server.attach(*dtls, "dtls");
  }
  // Our bootstrap server on DTLS at kSecureBootstrap, next to its plain transport.
  void start_bootstrap(bootstrap::BootstrapServerConfig config = {}) {
    bootstrap = std::make_unique<BootstrapHarness>(net, config);
    bootstrap_backend = backend_asking(bootstrap->bs);
    bootstrap_dtls =
        std::make_unique<SimTransport>(net, kSecureBootstrap, 51, bootstrap_backend.get());
    bootstrap->bs.attach(*bootstrap_dtls, "dtls");
  }
  // A configuration that proves the client by PSK and gives it a NoSec account on our
  // plain server; `more` adds settings ("key": value, ...).
  void configure_bootstrap(const std::string& ep, const std::string& identity,
                           const std::string& key_hex, const std::string& more = "") {
    bootstrap->configure(ep, R"({
      "security": {"1": {"uri": "coap://10.0.0.1:1", "bootstrap": false, "mode": "nosec",
                         "shortServerId": 101}},
      "servers": {"1": {"shortServerId": 101, "lifetime": 300, "binding": "U"}},
      "credentials": )" + psk_json(identity, key_hex) +
                                 (more.empty() ? "" : ", " + more) + "}");
  }
  static std::string psk_json(const std::string& identity, const std::string& key_hex) {
    return R"({"mode": "psk", "identity": ")" + identity + R"(", "key": ")" + key_hex + R"("})";
  }
  void put_psk(const std::string& ep, const std::string& identity, const std::string& key) {
    server::Credentials c;
    c.endpoint = ep;
    c.kind = server::Credentials::Kind::kPsk;
    c.psk_identity = identity;
    c.psk_key = to_bytes(key);
    ASSERT_TRUE(server->server.put_credentials(c));
  }
  // A client with a secure transport and a PSK Server Account on it.
  ClientHarness& make_client(const std::string& ep, const std::string& identity,
                             const std::string& key) {
    ClientConfig config;
    config.endpoint = ep;
    client = std::make_unique<ClientHarness>(net, config);
    secure =
        std::make_unique<SimTransport>(net, kSecureClient, 41, &client_backend, tls::Role::kClient);
    client->client.attach(*secure, "coaps");
    client->add_server(101, kSecureUri);
    set_psk(identity, key);
    return *client;
  }
  void set_psk(const std::string& identity, const std::string& key) {
    (void)client->data.put(Path{0, 0, 2}, Value(std::int64_t{0}));
    (void)client->data.put(Path{0, 0, 3}, Value(to_bytes(identity)));
    (void)client->data.put(Path{0, 0, 5}, Value(to_bytes(key)));
  }
  // Sends `r` to `ep` from our server and runs the network until it is answered.
  std::optional<DownlinkResult> call(const std::string& ep, lwm2m::DownlinkRequest r) {
    std::optional<DownlinkResult> got;
    server->server.send(ep, std::move(r), {}, [&](DownlinkResult d) { got = std::move(d); });
    net.run_until([&] { return got.has_value(); }, Duration{30'000});
    return got;
  }
  static lwm2m::DownlinkRequest request(Operation op, Path path) {
    lwm2m::DownlinkRequest r;
    r.op = op;
    r.path = path;
    return r;
  }
  // Our server with dev1's PSK on file, and dev1 started against it over DTLS; null unless
  // it registered.
  ClientHarness* register_dev1() {
    start_server();
    put_psk("dev1", "dev1-id", "0123456789abcdef");
    auto& c = make_client("dev1", "dev1-id", "0123456789abcdef");
    c.client.start();
    return registered("dev1") ? &c : nullptr;
  }
  bool registered(const std::string& ep, Duration max = Duration{60'000}) {
    return net.run_until([&] { return server->server.find(ep) != nullptr; }, max);
  }

  SimNetwork net;
  server::MemoryStore store;
  std::unique_ptr<ServerHarness> server;
  std::unique_ptr<tls::GnutlsBackend> server_backend;
  std::unique_ptr<SimTransport> dtls;
  tls::GnutlsBackend client_backend;
  std::unique_ptr<BootstrapHarness> bootstrap;
  std::unique_ptr<tls::GnutlsBackend> bootstrap_backend;
  std::unique_ptr<SimTransport> bootstrap_dtls;
  std::unique_ptr<SimTransport> secure;  // outlives the client attached to it
  std::unique_ptr<ClientHarness> client;
};

TEST(SecureClient, RegistersOverDtlsWithPskAndIsManaged) {
  SecureSetup s;
  ASSERT_TRUE(s.register_dev1());
  EXPECT_EQ(s.server->server.find("dev1")->transport, "dtls");
  auto got = s.call("dev1", SecureSetup::request(Operation::kRead, Path{3, 0, 0}));
  ASSERT_TRUE(got && got->response);
  EXPECT_EQ(*got->response->content.find_value(Path{3, 0, 0}), Value("Tether"));
  // Nothing of the exchange is readable on the wire.
  for (const auto& p : s.net.log()) {
    if (p.to == kSecureServer || p.from == kSecureServer) {
      EXPECT_EQ(to_string(p.bytes).find("Tether"), std::string::npos);
    }
  }
}

// The reported hijack: Update and De-register were bound to the location alone, so a plain
// datagram moved a DTLS device to the sender (later Reads went there in plaintext) and
// another authenticated client could update or delete it. Both now get 4.04.
TEST(SecureClient, OnlyTheIdentityThatRegisteredMayUpdateOrDeRegister) {
  SecureSetup s;
  ASSERT_TRUE(s.register_dev1());
  const server::Registration before = *s.server->server.find("dev1");
  const std::string location = "/rd/" + before.id;
  auto expect_unmoved = [&](const char* what) {
    const auto* now = s.server->server.find("dev1");
    ASSERT_NE(now, nullptr) << what;
    EXPECT_EQ(now->transport, "dtls") << what;
    EXPECT_EQ(now->address, before.address) << what;
    EXPECT_EQ(now->id, before.id) << what;
  };

  // A stranger on plain UDP, with raw datagrams: the code of the server's answer.
  constexpr coap::PeerId kStranger = 66;
  s.net.add_raw(kStranger);
  std::uint16_t next_mid = 0x700;
  auto from_stranger = [&](coap::Message m) -> std::optional<coap::Code> {
    m.type = coap::Type::kConfirmable;
    m.message_id = next_mid++;
    m.token = Bytes{7, static_cast<std::uint8_t>(m.message_id)};
    s.net.raw_inbox(kStranger).clear();
    s.net.send_raw(kStranger, server::testing::kServerAddress, m);
    s.net.run_for(Duration{2'000});
    const auto& inbox = s.net.raw_inbox(kStranger);
    if (inbox.empty() || !inbox.back().message) return std::nullopt;
    return inbox.back().message->code;
  };
  for (const auto code : {coap::codes::kPost, coap::codes::kDelete}) {
    EXPECT_EQ(from_stranger(coap::make_request(code, location)), coap::codes::kNotFound);
    expect_unmoved("plain UDP");
  }
  // Nor can a plain Register of the same name take its place.
  coap::Message plain_register = coap::make_request(coap::codes::kPost, "/rd");
  plain_register.add_query("ep=dev1");
  plain_register.set_content_format(coap::content_format::kLinkFormat);
  plain_register.payload = to_bytes("</1/0>");
  EXPECT_EQ(from_stranger(plain_register), coap::codes::kForbidden);
  expect_unmoved("a plain Register of the same name");

  // Another device with credentials of its own, over its own DTLS session.
  s.put_psk("dev2", "dev2-id", "00112233445566778899");
  constexpr coap::PeerId kOther = 67;
  SimTransport other(s.net, kOther, 77, &s.client_backend, tls::Role::kClient);
  tls::ClientCredentials creds;
  creds.psk_identity = to_bytes("dev2-id");
  creds.psk_key = to_bytes("00112233445566778899");
  other.secure_layer()->set_credentials(kSecureServer, creds, s.net.now());
  for (const auto code : {coap::codes::kPost, coap::codes::kDelete}) {
    std::optional<Result<coap::Message>> got;
    other.endpoint().request(
        kSecureServer, coap::make_request(code, location),
        [&](Result<coap::Message> r) { got = std::move(r); }, s.net.now());
    ASSERT_TRUE(s.net.run_until([&] { return got.has_value(); }, Duration{60'000}));
    ASSERT_TRUE(*got) << got->error().reason;
    EXPECT_EQ((*got)->code, coap::codes::kNotFound);
    expect_unmoved("another DTLS identity");
  }
  ASSERT_TRUE(other.secure_layer()->established(kSecureServer));

  // The device itself still updates.
  s.net.run_for(Duration{400'000});
  EXPECT_GT(s.server->server.find("dev1")->updated_at, before.updated_at);
  expect_unmoved("the device's own Update");
  EXPECT_EQ(s.server->events_of(server::ServerEvent::Kind::kRefused).size(), 5u);
}

// A client-initiated bootstrap session belongs to the identity that asked for it: here a
// certificate for dev1 (a configuration without credentials admits it by its CN). A plain
// Bootstrap-Request naming dev1 used to cut it short and start a session for the sender.
TEST(SecureClient, ABootstrapSessionCannotBeTakenOverByAnotherPeer) {
  SecureSetup s;
  // Valid at the virtual time the handshakes run at.
  auto at_virtual_time = [](tether::testing::CertSpec spec) {
    spec.not_before = VirtualClock::kUnixBase / 1000 - 3600;
    spec.not_after = VirtualClock::kUnixBase / 1000 + 86400;
    return spec;
  };
  tether::testing::TestPki pki;
  pki.ca = tether::testing::make_certificate(
      at_virtual_time(tether::testing::TestPki::authority("Tether Test CA")),
      tether::testing::make_key());
  const auto bs_cert =
      pki.issue(at_virtual_time(tether::testing::named("bs.example", {"bs.example"})));
  const auto dev_cert = pki.issue(at_virtual_time(tether::testing::named("dev1")));
  s.bootstrap = std::make_unique<BootstrapHarness>(s.net);
  tls::GnutlsOptions o;
  o.server.emplace();
  o.server->private_key = bs_cert.key.private_key;
  o.server->certificate_chain = bs_cert.pem;
  o.server->client_trust_anchors = {pki.ca.pem};
  s.bootstrap_backend = std::make_unique<tls::GnutlsBackend>(o);
  s.bootstrap_dtls =
      std::make_unique<SimTransport>(s.net, kSecureBootstrap, 51, s.bootstrap_backend.get());
  s.bootstrap->bs.attach(*s.bootstrap_dtls, "dtls");
  s.bootstrap->configure("dev1", R"({
    "security": {"1": {"uri": "coap://10.0.0.1:1", "bootstrap": false, "mode": "nosec",
                       "shortServerId": 101}},
    "servers": {"1": {"shortServerId": 101, "lifetime": 300, "binding": "U"}}})");

  // dev1 asks over DTLS with its certificate, then goes quiet: the session waits for it.
  constexpr coap::PeerId kDevice = 68;
  SimTransport device(s.net, kDevice, 78, &s.client_backend, tls::Role::kClient);
  tls::ClientCredentials creds;
  creds.mode = tls::Mode::kCertificate;
  creds.own_public_key = dev_cert.pem;
  creds.private_key = dev_cert.key.private_key;
  creds.server_public_key = bs_cert.pem;
  creds.certificate_usage = 3;
  creds.server_name = "bs.example";
  device.secure_layer()->set_credentials(kSecureBootstrap, creds, s.net.now());
  device.endpoint().set_request_handler([](coap::PeerId, const coap::Message&, coap::Responder) {});
  std::optional<Result<coap::Message>> asked;
  coap::Message request = coap::make_request(coap::codes::kPost, "/bs");
  request.add_query("ep=dev1");
  device.endpoint().request(
      kSecureBootstrap, request, [&](Result<coap::Message> r) { asked = std::move(r); },
      s.net.now());
  ASSERT_TRUE(s.net.run_until([&] { return asked.has_value(); }, Duration{30'000}));
  const auto* why = device.secure_layer()->last_failure(kSecureBootstrap);
  ASSERT_TRUE(*asked) << asked->error().reason << (why != nullptr ? why->describe() : "");
  ASSERT_EQ((*asked)->code, coap::codes::kChanged);
  ASSERT_NE(s.bootstrap->bs.session("dev1"), nullptr);
  ASSERT_EQ(s.bootstrap->bs.session("dev1")->state, bootstrap::BootstrapSession::State::kRunning);

  // A stranger on plain UDP names dev1.
  constexpr coap::PeerId kStranger = 69;
  s.net.add_raw(kStranger);
  coap::Message hijack = coap::make_request(coap::codes::kPost, "/bs");
  hijack.add_query("ep=dev1");
  hijack.type = coap::Type::kConfirmable;
  hijack.message_id = 0x999;
  hijack.token = Bytes{9, 9};
  s.net.send_raw(kStranger, kBootstrapAddress, hijack);
  s.net.run_for(Duration{1'000});
  ASSERT_FALSE(s.net.raw_inbox(kStranger).empty());
  ASSERT_TRUE(s.net.raw_inbox(kStranger).back().message);
  EXPECT_EQ(s.net.raw_inbox(kStranger).back().message->code, coap::codes::kBadRequest);
  const auto* session = s.bootstrap->bs.session("dev1");
  ASSERT_NE(session, nullptr);
  EXPECT_EQ(session->transport, "dtls");
  EXPECT_EQ(session->address, s.bootstrap_dtls->describe(kDevice));
  for (const auto& p : s.net.log()) {
    EXPECT_FALSE(p.to == kStranger && p.message && p.message->code.code_class() == 0 &&
                 p.message->code != coap::codes::kEmpty)
        << "the stranger got a bootstrap request";
  }
}

TEST(SecureClient, IdentityThatIsNotTheEndpointNameGets400) {
  SecureSetup s;
  s.start_server();
  s.put_psk("dev1", "dev1-id", "0123456789abcdef");
  // dev2 proves dev1's identity: Transport TS 5.2.6 says 4.00.
  auto& c = s.make_client("dev2", "dev1-id", "0123456789abcdef");
  c.client.start();
  EXPECT_FALSE(s.registered("dev2", Duration{30'000}));
  ASSERT_GE(c.count(ClientEvent::Kind::kRegistrationFailed), 1u);
  bool saw_400 = false;
  for (const auto& e : c.events) {
    saw_400 |= e.kind == ClientEvent::Kind::kRegistrationFailed &&
               e.detail.find("4.00") != std::string::npos;
  }
  EXPECT_TRUE(saw_400);
  EXPECT_EQ(s.server->server.find("dev1"), nullptr);
}

TEST(SecureClient, UnknownIdentityFailsAtOnceAndFallsBackToBootstrap) {
  SecureSetup s;
  s.start_server();
  auto& c = s.make_client("dev1", "stranger", "0123456789abcdef");
  c.add_bootstrap_server(kBootstrapUri);  // nobody there: the fallback is what we look for
  c.client.start();
  ASSERT_TRUE(s.net.run_until([&] { return c.count(ClientEvent::Kind::kBootstrapStarted) > 0; },
                              Duration{120'000}));
  // Alert 115 is "Fail" (Table 5.2.10-1): no retries within the sequence.
  EXPECT_EQ(c.count(ClientEvent::Kind::kRegistrationFailed), 1u);
  const auto& failed = c.events.at(0);
  EXPECT_NE(failed.detail.find("alert 115"), std::string::npos) << failed.detail;
}

TEST(SecureClient, NewCredentialsEndTheSessionAndTheClientRegistersAgain) {
  SecureSetup s;
  ClientHarness* c = s.register_dev1();
  ASSERT_TRUE(c);
  const std::string first = s.server->server.find("dev1")->id;
  // Both sides get a new key (as a Bootstrap-Write and the server's API would).
  s.put_psk("dev1", "dev1-id", "fedcba9876543210");
  s.net.settle();
  EXPECT_FALSE(s.dtls->secure_layer()->established(kSecureClient));  // seed 000: torn down
  s.set_psk("dev1-id", "fedcba9876543210");
  // The next Update finds no session: a new security context, so a Register goes out.
  ASSERT_TRUE(s.net.run_until(
      [&] {
        auto* r = s.server->server.find("dev1");
        return r != nullptr && r->id != first;
      },
      Duration{300'000}));
  EXPECT_EQ(c->client.state(101), Lwm2mClient::State::kRegistered);
}

// A client bootstrapped over DTLS with PSK by a bootstrap server with session renewal
// on or off; returns the bootstrap server's DTLS layer, with the session up.
tls::SecureLayer* bootstrap_over_dtls(SecureSetup& s, bool renew, const std::string& more = "") {
  s.start_server();
  bootstrap::BootstrapServerConfig config;
  config.renew_sessions_on_credential_change = renew;
  s.start_bootstrap(config);
  s.configure_bootstrap("dev1", "dev1-id", "00112233445566778899aabbccddeeff", more);
  ClientConfig cc;
  cc.endpoint = "dev1";
  s.client = std::make_unique<ClientHarness>(s.net, cc);
  s.secure = std::make_unique<SimTransport>(s.net, kSecureClient, 41, &s.client_backend,
                                            tls::Role::kClient);
  auto& c = *s.client;
  c.client.attach(*s.secure, "coaps");
  c.add_bootstrap_server(kSecureBootstrapUri);
  (void)c.data.put(Path{0, 9, 2}, Value(std::int64_t{0}));
  (void)c.data.put(Path{0, 9, 3}, Value(to_bytes("dev1-id")));
  (void)c.data.put(Path{0, 9, 5}, Value(*from_hex("00112233445566778899aabbccddeeff")));
  c.client.start();
  EXPECT_TRUE(s.registered("dev1"));
  EXPECT_EQ(c.count(ClientEvent::Kind::kBootstrapped), 1u);
  return s.bootstrap_dtls->secure_layer();
}

// The operator gives the configuration a new key: the session proved with the old key must
// not live on (seed 000), unless renewal is off.
void rekey_after_bootstrap(bool renew) {
  SecureSetup s;
  auto* layer = bootstrap_over_dtls(s, renew);
  ASSERT_TRUE(layer->established(kSecureClient));
  // The same configuration again changes nothing.
  s.configure_bootstrap("dev1", "dev1-id", "00112233445566778899aabbccddeeff");
  s.net.settle();
  EXPECT_TRUE(layer->established(kSecureClient));
  s.configure_bootstrap("dev1", "dev1-id", "ffeeddccbbaa99887766554433221100");
  s.net.settle();
  EXPECT_EQ(layer->established(kSecureClient), !renew);
}

TEST(SecureClient, BootstrapServerClosesTheSessionWhenTheConfigurationsKeyChanges) {
  rekey_after_bootstrap(true);
}

TEST(SecureClient, BootstrapServerKeepsTheSessionWhenRenewalIsOff) {
  rekey_after_bootstrap(false);
}

TEST(SecureClient, BootstrapServerClosesTheSessionWhenTheConfigurationIsRemoved) {
  SecureSetup s;
  auto* layer = bootstrap_over_dtls(s, true);
  ASSERT_TRUE(layer->established(kSecureClient));
  ASSERT_TRUE(s.bootstrap->bs.remove_config("dev1"));
  s.net.settle();
  EXPECT_FALSE(layer->established(kSecureClient));
}

// Seed 001 over DTLS: the Bootstrap-Server replaces its own account with persistent keys.
// The session proved with the factory key ends with the bootstrap, and the next bootstrap
// (asked for by the LwM2M server) proves the new key.
TEST(SecureClient, ReplacedBootstrapAccountKeysTakeOverAtTheNextBootstrap) {
  SecureSetup s;
  const std::string fresh = SecureSetup::psk_json("dev1-id2", "0f0e0d0c0b0a09080706050403020100");
  auto* layer = bootstrap_over_dtls(s, true,
                                    R"("replaceBootstrapAccount": {
      "security": {"uri": "coaps://10.0.0.1:4", "bootstrap": true, "mode": "psk",
                   "publicKeyOrIdentity": {"text": "dev1-id2"},
                   "secretKey": {"hex": "0f0e0d0c0b0a09080706050403020100"}},
      "instanceId": 9, "credentials": )" +
                                        fresh + "}");
  s.net.settle();
  EXPECT_FALSE(layer->established(kSecureClient));  // seed 000: the factory key's session
  const auto* config = s.bootstrap->bs.config("dev1");
  ASSERT_TRUE(config->credentials);
  EXPECT_EQ(config->credentials->psk_identity, "dev1-id2");
  auto& c = *s.client;
  EXPECT_EQ(c.data.value(Path{0, 9, 3}), Value(to_bytes("dev1-id2")));

  // Bootstrap-Request Trigger.
  EXPECT_TRUE(s.call("dev1", SecureSetup::request(Operation::kExecute, Path{1, 1, 9})));
  ASSERT_TRUE(s.net.run_until([&] { return c.count(ClientEvent::Kind::kBootstrapped) == 2; },
                              Duration{120'000}));
  ASSERT_NE(layer->identity(kSecureClient), nullptr);
  EXPECT_EQ(layer->identity(kSecureClient)->psk_identity, "dev1-id2");
}

// Firmware pulled from a coaps Package URI: the client finds the firmware server's
// credentials in a Security instance of its own (no Server object names it) and fetches the
// package over DTLS.
TEST(SecureClient, FirmwarePulledOverCoapsWithTheFirmwareServersSecurityInstance) {
  SecureSetup s;
  ClientHarness* registered = s.register_dev1();
  ASSERT_TRUE(registered);
  auto& c = *registered;
  // The firmware server: a CoAP node at address 6 behind DTLS, knowing one PSK.
  tls::GnutlsOptions o;
  o.server.emplace();
  o.server->psk_key_for = [](ByteView id) -> std::optional<Bytes> {
    if (to_string(id) != "fw-reader") return std::nullopt;
    return to_bytes("firmware-key-123");
  };
  tls::GnutlsBackend files_backend(o);
  coap::sim::Node files(coap::EndpointConfig{}, 66);
  tls::SecureLayerConfig files_config;
  files_config.role = tls::Role::kServer;
  tls::SecureLayer files_layer(files_config, files_backend, files.endpoint);
  s.net.add(6, files_layer);
  Bytes image(3000);
  for (std::size_t i = 0; i < image.size(); ++i) image[i] = static_cast<std::uint8_t>(i * 13);
  files.endpoint.set_request_handler([&](coap::PeerId, const coap::Message& m, coap::Responder r) {
    coap::Message answer = coap::make_response(
        m, m.path() == "/fw.bin" ? coap::codes::kContent : coap::codes::kNotFound);
    if (answer.code == coap::codes::kContent) answer.payload = image;
    r.respond(std::move(answer), s.net.now());
  });

  auto pull = [&](const std::string& uri) {
    auto w = SecureSetup::request(Operation::kWrite, Path{5, 0, 1});
    w.format = lwm2m::format::ContentFormat::kText;
    (void)w.content.set(Path{5, 0, 1}, Value(uri));
    EXPECT_TRUE(s.call("dev1", w));
    s.net.run_for(Duration{20'000});
  };

  // No Security instance names the firmware server yet: unsupported protocol (9).
  pull("coaps://10.0.0.1:6/fw.bin");
  EXPECT_EQ(c.firmware->result(), FirmwareObject::UpdateResult::kUnsupportedProtocol);
  EXPECT_EQ(files_layer.session_count(), 0u);

  (void)c.data.put(Path{0, 5, 0}, Value("coaps://10.0.0.1:6"));
  (void)c.data.put(Path{0, 5, 1}, Value(false));
  (void)c.data.put(Path{0, 5, 2}, Value(std::int64_t{0}));
  (void)c.data.put(Path{0, 5, 3}, Value(to_bytes("fw-reader")));
  (void)c.data.put(Path{0, 5, 5}, Value(to_bytes("firmware-key-123")));
  pull("coaps://10.0.0.1:6/fw.bin");
  EXPECT_EQ(c.firmware->state(), FirmwareObject::State::kDownloaded);
  ASSERT_NE(files_layer.identity(kSecureClient), nullptr);
  EXPECT_EQ(files_layer.identity(kSecureClient)->psk_identity, "fw-reader");
  ASSERT_TRUE(s.call("dev1", SecureSetup::request(Operation::kExecute, Path{5, 0, 2})));
  EXPECT_EQ(c.installed, image);
  // The package never crossed the network in the clear.
  for (const auto& p : s.net.log()) {
    if (p.from != 6) continue;
    auto leak = std::search(p.bytes.begin(), p.bytes.end(), image.begin(), image.begin() + 64);
    EXPECT_EQ(leak, p.bytes.end());
  }
}

}  // namespace
}  // namespace tether::client
