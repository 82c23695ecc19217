// Hostile datagrams against the LwM2M server on the simulated network, sent as raw bytes
// (not through our client): names and parameters that are not clean text are refused with
// 4.00 before anything is stored or published, a location alone moves or removes nothing,
// and every refusal is reported.
#include <gtest/gtest.h>

#include "server_fixture.hpp"
#include "support/hex_bytes.hpp"

namespace tether::server::testing {
namespace {

constexpr coap::PeerId kAttacker = 66;

PeerIdentity identity(std::string transport, std::string address) {
  PeerIdentity id;
  id.transport = std::move(transport);
  id.address = std::move(address);
  return id;
}

class HostileUplinkTest : public ::testing::Test {
 protected:
  HostileUplinkTest() : harness(net, store) { net.add_raw(kAttacker); }

  // Sends `bytes` from the attacker and returns the server's answer.
  std::optional<Message> send_raw(Bytes bytes) {
    auto& inbox = net.raw_inbox(kAttacker);
    inbox.clear();
    net.send_raw(kAttacker, kServerAddress, std::move(bytes));
    net.run_for(Duration{1'000});
    if (inbox.empty() || !inbox.back().message) return std::nullopt;
    return inbox.back().message;
  }
  std::optional<Message> send(Message m) {
    if (m.message_id == 0) m.message_id = next_mid_++;
    m.type = coap::Type::kConfirmable;
    return send_raw(coap::encode_udp(m));
  }
  static Message register_request(const std::vector<std::string>& queries) {
    Message m = coap::make_request(codes::kPost, "/rd");
    m.token = Bytes{1, 2, 3, 4};
    for (const auto& q : queries) m.add_query(q);
    m.set_content_format(coap::content_format::kLinkFormat);
    m.payload = to_bytes("</1/0>,</3/0>");
    return m;
  }
  void expect_refused(const std::vector<std::string>& queries, const std::string& why) {
    auto answer = send(register_request(queries));
    ASSERT_TRUE(answer) << why;
    EXPECT_EQ(answer->code, codes::kBadRequest) << why;
    EXPECT_EQ(harness.server.registration_count(), 0u) << why;
  }

  SimNetwork net;
  MemoryStore store;
  ServerHarness harness;
  std::uint16_t next_mid_ = 0x100;
};

// The datagram of the report: ep=\xff\xff. It used to be stored, and its 2.01 never sent.
TEST_F(HostileUplinkTest, TheReportedInvalidUtf8RegisterIsRefusedWith400) {
  auto answer =
      send_raw(test_support::hex("40 02 12 34 b2 72 64 44 65 70 3d ff ff 3c 2f 31 2f 30 3e"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->code, codes::kBadRequest);
  EXPECT_EQ(to_string(answer->payload), "4.00 Bad Request: the endpoint name is not valid UTF-8");
  EXPECT_EQ(harness.server.registration_count(), 0u);
  EXPECT_TRUE(store.load_registrations()->empty());
  // Reported, without the bytes that could not be written out.
  auto refused = harness.events_of(ServerEvent::Kind::kRefused);
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].endpoint, "");
  EXPECT_NE(refused[0].detail.find("not valid UTF-8"), std::string::npos);
  EXPECT_EQ(refused[0].address, "udp 10.0.0.1:66");
}

TEST_F(HostileUplinkTest, NamesAndParametersThatAreNotCleanTextAreRefused) {
  expect_refused({"ep=dev\nts=forged"}, "a newline in ep");
  expect_refused({std::string("ep=dev\0x", 8)}, "a NUL in ep");
  expect_refused({"ep=dev1", "sms=\xff"}, "sms not UTF-8");
  expect_refused({"ep=dev1", "sms=" + std::string(40, '1')}, "sms too long");
  expect_refused({"ep=dev1", "pid=a\x07"}, "a bell in pid");
  expect_refused({"ep=dev1", "lwm2m=1.\xff"}, "lwm2m not UTF-8");
  expect_refused({"ep=dev1", "\xff=1"}, "an unknown parameter that is not UTF-8");
  EXPECT_EQ(harness.events_of(ServerEvent::Kind::kRegistered).size(), 0u);
  EXPECT_EQ(harness.events_of(ServerEvent::Kind::kRefused).size(), 7u);
  // A Uri-Query holds 255 bytes at most: a longer name never gets past CoAP (4.02).
  auto too_long = send(register_request({"ep=" + std::string(300, 'a')}));
  ASSERT_TRUE(too_long);
  EXPECT_EQ(too_long->code, codes::kBadOption);
  // Printable names of any script, and a '/', are names like any other.
  auto ok = send(register_request({"ep=Ger\xc3\xa4t/7"}));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->code, codes::kCreated);
  EXPECT_NE(harness.server.find("Ger\xc3\xa4t/7"), nullptr);
}

TEST_F(HostileUplinkTest, AnObjectListWithControlCharactersIsRefused) {
  for (const std::string& links : {std::string("</\n>;rt=\"oma.lwm2m\",</1/0>"),
                                   // An escape between two bytes that are not UTF-8 alone.
                                   std::string("</1/0>;x=\"\xc3\\\xa9\",</3/0>;y=\"\x1b[2J\"")}) {
    Message m = register_request({"ep=dev1"});
    m.payload = to_bytes(links);
    auto answer = send(std::move(m));
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->code, codes::kBadRequest);
    EXPECT_EQ(harness.server.registration_count(), 0u);
  }
}

// A plain registration may move (NAT rebinding), but once its endpoint has credentials on
// file only a peer that proves them can act on it: the location is not a credential.
TEST_F(HostileUplinkTest, CredentialsPutOnFileBindUpdatesAndDeRegisters) {
  FakeClient device(net, 20);
  ASSERT_TRUE(device.register_with({"ep=dev1"}));
  ASSERT_EQ(device.location.rfind("/rd/", 0), 0u);
  Credentials c;
  c.endpoint = "dev1";
  c.kind = Credentials::Kind::kPsk;
  c.psk_identity = "dev1-id";
  c.psk_key = to_bytes("secret");
  ASSERT_TRUE(harness.server.put_credentials(c));

  Message update = coap::make_request(codes::kPost, device.location);
  update.token = Bytes{9};
  auto answer = send(update);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->code, codes::kNotFound);
  Message remove = coap::make_request(codes::kDelete, device.location);
  remove.token = Bytes{10};
  answer = send(remove);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->code, codes::kNotFound);
  ASSERT_NE(harness.server.find("dev1"), nullptr);
  EXPECT_EQ(harness.server.find("dev1")->address, "10.0.0.1:20");
}

// A store whose commits can be made to fail, counting them.
class CommitCountingStore final : public ServerStore {
 public:
  Result<std::vector<Registration>> load_registrations() override {
    return inner.load_registrations();
  }
  Result<Ok> save_registration(const Registration& r) override {
    pending = true;
    return inner.save_registration(r);
  }
  Result<Ok> remove_registration(const std::string& ep) override {
    pending = true;
    return inner.remove_registration(ep);
  }
  Result<std::vector<ObservationRecord>> load_observations() override {
    return inner.load_observations();
  }
  Result<Ok> save_observation(const ObservationRecord& o) override {
    return inner.save_observation(o);
  }
  Result<Ok> remove_observation(const std::string& endpoint, const std::string& id) override {
    return inner.remove_observation(endpoint, id);
  }
  Result<std::vector<Credentials>> load_credentials() override { return inner.load_credentials(); }
  Result<Ok> save_credentials(const Credentials& c) override { return inner.save_credentials(c); }
  Result<Ok> remove_credentials(const std::string& ep) override {
    return inner.remove_credentials(ep);
  }
  Result<Ok> flush() override {
    if (failing) return tether::fail("disk full");
    if (pending) ++commits;
    pending = false;
    return inner.flush();
  }
  MemoryStore inner;
  bool pending = false;
  bool failing = false;
  int commits = 0;
};

// Credentials the store cannot make durable are refused (5.00) and taken back: a later
// flush does not write them behind the operator's back.
TEST(CredentialWrites, ACredentialChangeThatIsNotDurableIsTakenBack) {
  SimNetwork net;
  CommitCountingStore store;
  ServerHarness harness(net, store);
  Credentials first;
  first.endpoint = "dev1";
  first.kind = Credentials::Kind::kPsk;
  first.psk_identity = "dev1-id";
  first.psk_key = to_bytes("first");
  ASSERT_TRUE(harness.server.put_credentials(first));
  Credentials second = first;
  second.psk_key = to_bytes("second");
  store.failing = true;
  auto refused = harness.server.put_credentials(second);
  ASSERT_FALSE(refused);
  EXPECT_EQ(lwm2m::status_of(refused.error()), codes::kInternalServerError);
  auto not_removed = harness.server.remove_credentials("dev1");
  ASSERT_FALSE(not_removed);
  store.failing = false;
  ASSERT_TRUE(store.flush());
  EXPECT_EQ(harness.server.credentials("dev1"), first);
  EXPECT_EQ(*store.load_credentials(), std::vector<Credentials>{first});
}

// --sync-writes: the 2.01 goes out only once the store has committed the registration, and a
// commit that fails is a 5.00, not an acknowledgement.
TEST(SyncWrites, RegistrationsAreAnsweredAfterTheirCommit) {
  SimNetwork net;
  CommitCountingStore store;
  ServerConfig config;
  config.sync_writes = true;
  config.store_flush_interval = Duration{3'600'000};  // only the group commit flushes
  ServerHarness harness(net, store, config);
  FakeClient device(net, 20);
  // Registers `ep`; the answer, and how many commits the store had made when it came.
  auto register_as = [&](const std::string& ep) {
    std::optional<std::pair<Message, int>> got;
    Message m = coap::make_request(codes::kPost, "/rd");
    m.add_query("ep=" + ep);
    m.set_content_format(coap::content_format::kLinkFormat);
    m.payload = to_bytes("</1/0>");
    device.node.endpoint.request(
        kServerAddress, m,
        [&](Result<Message> r) {
          if (r) got = std::make_pair(*r, store.commits);
        },
        net.now());
    net.run_until([&] { return got.has_value(); }, Duration{5'000});
    return got;
  };
  auto created = register_as("dev1");
  ASSERT_TRUE(created);
  EXPECT_EQ(created->first.code, codes::kCreated);
  EXPECT_EQ(created->second, 1);  // committed before it was answered

  store.failing = true;
  auto refused = register_as("dev2");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->first.code, codes::kInternalServerError);
}

// A registration stored before identities were kept (schema 1, over DTLS) takes its first
// Update from a secure peer the policy admits, and is bound to that identity from then on.
// A name taken from a certificate's CN (no `ep`) is checked like any other.
TEST(RegistryIdentity, ANameFromACertificateIsCheckedToo) {
  SeededRandom random(1);
  RegistrationRegistry registry(RegistryConfig{}, random);
  lwm2m::RegisterRequest request;
  request.params.endpoint = std::string("dev\x1b[31m1");
  PeerIdentity peer = identity("dtls", "10.0.0.2:5");
  peer.certificate_cn = std::string("dev\x1b[31m1");
  auto refused = registry.register_client(request, peer, 1'000);
  ASSERT_FALSE(refused);
  EXPECT_EQ(lwm2m::status_of(refused.error()), codes::kBadRequest);
  EXPECT_EQ(registry.size(), 0u);
}

TEST(RegistryIdentity, ALegacySecureRegistrationIsPinnedByItsFirstSecureUpdate) {
  SeededRandom random(1);
  RegistrationRegistry registry(RegistryConfig{}, random);
  Registration r;
  r.id = "loc1";
  r.endpoint = "dev1";
  r.transport = "dtls";
  r.identity = Registration::kAnySecureIdentity;
  r.lifetime = 300;
  r.updated_at = 1'000'000;
  registry.restore(r);
  const lwm2m::UpdateRequest update{"loc1", {}, std::nullopt};
  PeerIdentity plain = identity("udp", "10.0.0.9:5");
  PeerIdentity device = identity("dtls", "10.0.0.2:5");
  device.psk_identity = std::string("dev1-id");
  PeerIdentity other = identity("dtls", "10.0.0.3:5");
  other.psk_identity = std::string("other-id");
  auto refused = registry.update(update, plain, 1'000'100);
  ASSERT_FALSE(refused);
  EXPECT_EQ(lwm2m::status_of(refused.error()), codes::kNotFound);
  auto pinned = registry.update(update, device, 1'000'200);
  ASSERT_TRUE(pinned) << pinned.error().reason;
  EXPECT_EQ((*pinned)->identity, device.key());
  EXPECT_FALSE(registry.update(update, other, 1'000'300));
  EXPECT_FALSE(registry.deregister(lwm2m::DeregisterRequest{"loc1"}, other));
  EXPECT_TRUE(registry.deregister(lwm2m::DeregisterRequest{"loc1"}, device));
}

}  // namespace
}  // namespace tether::server::testing
