// The bootstrap server on the simulated network and virtual time: client- and server-
// initiated sessions against a scripted device that applies what it is sent, the response
// codes of Transport TS Table 6.7-1, Bootstrap-Finish's 4.06, Bootstrap-Pack, and the seed
// 001 replacement of the Bootstrap-Server Account.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "binding/coap/bootstrap_mapping.hpp"
#include "bootstrap/bootstrap_config_json.hpp"
#include "bootstrap/bootstrap_server.hpp"
#include "bootstrap/store/file/file_bootstrap_store.hpp"
#include "bootstrap/store/memory/memory_bootstrap_store.hpp"
#include "lwm2m/format/codec.hpp"
#include "server/server_fixture.hpp"

namespace tether::bootstrap {
namespace {

using coap::Message;
namespace codes = coap::codes;
using lwm2m::Path;
using lwm2m::Value;
using lwm2m::format::ContentFormat;
using server::testing::FakeClient;
using server::testing::SimTransport;
using server::testing::VirtualClock;
namespace fmt = lwm2m::format;
namespace lf = lwm2m::format::link_format;

constexpr coap::PeerId kDevice = 7;

// A device's side of the Bootstrap interface, kept to what the tests need: it applies
// Bootstrap-Write and -Delete to its tree, answers Discover and Read, and checks at
// Bootstrap-Finish that a Server Account resulted (Core TS 6.1.7.6).
struct Device {
  Device(coap::sim::SimNetwork& net, coap::PeerId at) : client(net, at) {
    (void)tree.set(Path{0, 3, 0}, Value("coap://bootstrap.example"));
    (void)tree.set(Path{0, 3, 1}, Value(true));
    (void)tree.set(Path{0, 3, 2}, Value(std::int64_t{3}));
    (void)tree.set(Path{0, 5, 0}, Value("coap://old.example"));
    (void)tree.set(Path{0, 5, 1}, Value(false));
    (void)tree.set(Path{0, 5, 10}, Value(std::int64_t{7}));
    (void)tree.set(Path{1, 5, 0}, Value(std::int64_t{7}));
    (void)tree.set(Path{3, 0, 0}, Value("Tether"));
    client.answer = [this](const Message& m) { return handle(m); };
  }

  static bool is_bootstrap_account(const lwm2m::InstanceNode& i) {
    const auto* r = i.resources.find(1);
    return r != nullptr && r->value.get_if<bool>() != nullptr && r->value.get<bool>();
  }

  void erase(std::uint16_t oid, std::optional<std::uint16_t> iid) {
    auto* object = tree.objects.find(oid);
    if (object == nullptr) return;
    std::vector<std::uint16_t> ids;
    for (const auto& [id, inst] : object->instances) {
      if ((!iid || *iid == id) && !(oid == 0 && is_bootstrap_account(inst) && !iid)) {
        ids.push_back(id);
      }
    }
    for (auto id : ids) object->instances.erase(id);
  }

  Message reply(coap::Code code) const {
    Message m;
    m.code = code;
    return m;
  }

  Message handle(const Message& m) {
    if (refuse && refuse(m)) return reply(codes::kBadRequest);
    auto path = Path::from_segments(m.options.strings(coap::option::kUriPath));
    if (m.code == codes::kPost && m.path() == "/bs") {
      if (finish_code) return reply(*finish_code);
      bool usable = false;
      if (const auto* sec = tree.objects.find(0); sec != nullptr && tree.objects.find(1)) {
        for (const auto& [id, inst] : sec->instances) {
          const auto* ssid = inst.resources.find(10);
          if (is_bootstrap_account(inst) || ssid == nullptr) continue;
          for (const auto& [sid, server] : tree.objects.find(1)->instances) {
            const auto* s = server.resources.find(0);
            if (s != nullptr && s->value == ssid->value) usable = true;
          }
        }
      }
      return reply(usable ? codes::kChanged : codes::kNotAcceptable);
    }
    if (!path) return reply(codes::kBadRequest);
    if (m.code == codes::kDelete) {
      if (path->is_root()) {
        for (auto& [oid, o] : tree.objects) {
          if (oid != 3) erase(oid, std::nullopt);
        }
      } else {
        erase(path->object_id(), path->is_instance()
                                     ? std::optional<std::uint16_t>(path->instance_id())
                                     : std::nullopt);
      }
      return reply(codes::kDeleted);
    }
    if (m.code == codes::kPut) {
      auto f = fmt::content_format_from(m.content_format().value_or(0));
      if (!f) return reply(codes::kUnsupportedContentFormat);
      formats.push_back(*f);
      auto written = fmt::decode(*f, *path, m.payload, models);
      if (!written) return reply(codes::kBadRequest);
      if (path->is_instance()) erase(path->object_id(), path->instance_id());
      for (const auto& r : written->records()) (void)tree.set(r.path, r.value);
      return reply(codes::kChanged);
    }
    if (m.code == codes::kGet &&
        m.options.get_uint(coap::option::kAccept) == coap::content_format::kLinkFormat &&
        discover_answer) {
      Message out = reply(codes::kContent);
      out.set_content_format(coap::content_format::kLinkFormat);
      out.payload = to_bytes(*discover_answer);
      return out;
    }
    if (m.code == codes::kGet &&
        m.options.get_uint(coap::option::kAccept) == coap::content_format::kLinkFormat) {
      lf::BootstrapDiscovery d;
      d.version = "1.1";
      for (const auto& [oid, object] : tree.objects) {
        if (object.instances.empty()) d.links.push_back({Path{oid}, std::nullopt, {}});
        for (const auto& [iid, inst] : object.instances) {
          lf::BootstrapLink link{Path{oid, iid}, std::nullopt, {}};
          const auto* ssid = inst.resources.find(oid == 0 ? 10 : 0);
          if ((oid == 0 || oid == 1) && ssid != nullptr) {
            link.ssid = static_cast<std::uint16_t>(ssid->value.get<std::int64_t>());
          }
          d.links.push_back(link);
        }
      }
      Message out = reply(codes::kContent);
      out.set_content_format(coap::content_format::kLinkFormat);
      out.payload = to_bytes(lf::serialize_bootstrap_discover(d));
      return out;
    }
    if (m.code == codes::kGet) {
      const auto f = fmt::content_format_from(
          static_cast<std::uint16_t>(m.options.get_uint(coap::option::kAccept).value_or(11542)));
      lwm2m::Tree part;
      for (const auto& r : tree.records()) {
        if (path->covers(r.path)) (void)part.set(r.path, r.value);
      }
      auto body = fmt::encode(*f, *path, part, models);
      if (!body) return reply(codes::kNotAcceptable);
      Message out = reply(codes::kContent);
      out.set_content_format(static_cast<std::uint16_t>(*f));
      out.payload = std::move(*body);
      return out;
    }
    return reply(codes::kMethodNotAllowed);
  }

  // "DELETE /0", "PUT /0/1", "POST /bs", ... in the order they came.
  std::vector<std::string> log() const {
    std::vector<std::string> out;
    for (const auto& m : client.received) {
      const char* method = m.code == codes::kGet      ? "GET"
                           : m.code == codes::kPut    ? "PUT"
                           : m.code == codes::kDelete ? "DELETE"
                                                      : "POST";
      out.push_back(std::string(method) + " " + m.path());
    }
    return out;
  }

  Result<Message> bootstrap_request(std::vector<std::string> queries) {
    Message m = coap::make_request(codes::kPost, "/bs");
    for (auto& q : queries) m.add_query(q);
    return client.exchange(std::move(m));
  }

  FakeClient client;
  lwm2m::model::ObjectRegistry models = lwm2m::model::ObjectRegistry::with_builtin();
  lwm2m::Tree tree;
  std::optional<coap::Code> finish_code;
  std::optional<std::string> discover_answer;  // another client's Bootstrap-Discover bytes
  std::function<bool(const Message&)> refuse;
  std::vector<ContentFormat> formats;
};

struct BootstrapTest : ::testing::Test {
  BootstrapTest()
      : clock(net),
        transport(net),
        models(lwm2m::model::ObjectRegistry::with_builtin()),
        bs(BootstrapServerConfig{}, clock, store, models) {
    bs.attach(transport, "udp");
    bs.set_event_handler([this](const server::ServerEvent& e) { events.push_back(e.detail); });
    net.add_timer_source([this] { return bs.next_deadline(); }, [this](Instant) { bs.on_timer(); });
  }

  BootstrapConfig config_from(const std::string& text, const std::string& ep = "dev1") {
    auto c = config_from_json(ep, nlohmann::json::parse(text), models);
    EXPECT_TRUE(c) << (c ? "" : c.error().reason);
    return c ? *c : BootstrapConfig{};
  }

  void put(const std::string& text, const std::string& ep = "dev1") {
    auto ok = bs.put_config(config_from(text, ep));
    ASSERT_TRUE(ok) << ok.error().reason;
  }

  // Runs the network until the endpoint's session has ended.
  const BootstrapSession* settle(const std::string& ep = "dev1") {
    net.run_until(
        [&] {
          const auto* s = bs.session(ep);
          return s != nullptr && s->state != BootstrapSession::State::kRunning;
        },
        Duration{300'000});
    return bs.session(ep);
  }

  coap::sim::SimNetwork net;
  VirtualClock clock;
  SimTransport transport;
  lwm2m::model::ObjectRegistry models;
  MemoryBootstrapStore store;
  BootstrapServer bs;
  std::vector<std::string> events;
};

constexpr const char* kConfig = R"({
  "security": {"1": {"uri": "coap://127.0.0.1:5683", "bootstrap": false, "mode": "nosec",
                     "shortServerId": 101}},
  "servers": {"0": {"shortServerId": 101, "lifetime": 300, "binding": "U",
                    "notificationStoring": true}},
  "acl": {"0": {"objectId": 3, "instanceId": 0, "acl": {"101": 15}, "owner": 101}}
})";

TEST_F(BootstrapTest, ClientInitiatedSessionDeletesWritesAndFinishes) {
  put(kConfig);
  Device device(net, kDevice);
  auto answer = device.bootstrap_request({"ep=dev1"});
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->code, codes::kChanged);
  const auto* s = settle();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->state, BootstrapSession::State::kFinished) << s->error;
  EXPECT_FALSE(s->server_initiated);
  EXPECT_EQ(device.log(), (std::vector<std::string>{"DELETE /0", "DELETE /1", "PUT /0/1",
                                                    "PUT /1/0", "PUT /2/0", "POST /bs"}));
  // Without pct the writes go as TLV, which every 1.0 and 1.1 client reads.
  for (auto f : device.formats) EXPECT_EQ(f, ContentFormat::kTlv);
  const auto& t = device.tree;
  EXPECT_EQ(*t.find_value(Path{0, 1, 0}), Value("coap://127.0.0.1:5683"));
  EXPECT_EQ(*t.find_value(Path{0, 1, 10}), Value(std::int64_t{101}));
  EXPECT_EQ(*t.find_value(Path{1, 0, 1}), Value(std::uint64_t{300}));  // Unsigned in 1.2
  EXPECT_EQ(*t.find_value(Path{2, 0, 2, 101}), Value(std::int64_t{15}));
  // The old Server Account went; the Bootstrap-Server Account and the Device object stayed.
  EXPECT_FALSE(t.contains(Path{0, 5}));
  EXPECT_FALSE(t.contains(Path{1, 5}));
  EXPECT_TRUE(t.contains(Path{0, 3}));
  EXPECT_TRUE(t.contains(Path{3, 0}));
  ASSERT_GE(events.size(), 2u);
  EXPECT_TRUE(events.front().starts_with("started (client-initiated")) << events.front();
  EXPECT_EQ(events.back(), "finished");
  EXPECT_EQ(bs.metrics().finished, 1u);
}

TEST_F(BootstrapTest, RefusesBadBootstrapRequestsWithTable671Codes) {
  put(kConfig);
  Device device(net, kDevice);
  auto code = [&](std::vector<std::string> q) { return device.bootstrap_request(q)->code; };
  EXPECT_EQ(code({}), codes::kBadRequest);                                  // no endpoint name
  EXPECT_EQ(code({"ep=stranger"}), codes::kBadRequest);                     // unknown endpoint
  EXPECT_EQ(code({"ep=dev1", "ep=dev1"}), codes::kBadRequest);              // repeated
  EXPECT_EQ(code({"ep=dev1", "lt=5"}), codes::kBadRequest);                 // unknown parameter
  EXPECT_EQ(code({"ep=dev1", "pct=x"}), codes::kBadRequest);                // malformed pct
  EXPECT_EQ(code({"ep=dev1", "pct=0"}), codes::kUnsupportedContentFormat);  // text
  EXPECT_EQ(code({"ep=dev1", "pct=999"}), codes::kUnsupportedContentFormat);
  auto get = device.client.exchange(coap::make_request(codes::kGet, "/bs"));
  EXPECT_EQ(get->code, codes::kMethodNotAllowed);
  auto other = device.client.exchange(coap::make_request(codes::kPost, "/rd"));
  EXPECT_EQ(other->code, codes::kNotFound);
  net.settle();
  EXPECT_TRUE(device.client.received.empty()) << "a refused request starts no session";
  EXPECT_EQ(bs.session("dev1"), nullptr);
}

TEST_F(BootstrapTest, PreferredContentFormatChoosesTheWriteFormat) {
  put(kConfig);
  Device device(net, kDevice);
  EXPECT_EQ(device.bootstrap_request({"ep=dev1", "pct=112"})->code, codes::kChanged);
  EXPECT_EQ(settle()->state, BootstrapSession::State::kFinished);
  ASSERT_EQ(device.formats.size(), 3u);
  for (auto f : device.formats) EXPECT_EQ(f, ContentFormat::kSenmlCbor);
  EXPECT_EQ(*device.tree.find_value(Path{2, 0, 3}), Value(std::int64_t{101}));
}

TEST_F(BootstrapTest, FinishAnswered406FailsTheSession) {
  put(kConfig);
  Device device(net, kDevice);
  device.finish_code = codes::kNotAcceptable;
  ASSERT_EQ(device.bootstrap_request({"ep=dev1"})->code, codes::kChanged);
  const auto* s = settle();
  EXPECT_EQ(s->state, BootstrapSession::State::kFailed);
  EXPECT_NE(s->error.find("inconsistent"), std::string::npos) << s->error;
  EXPECT_EQ(s->steps.back().result, "4.06");
  EXPECT_EQ(bs.metrics().failed, 1u);
}

TEST_F(BootstrapTest, ConfigurationWithoutServerAccountIsRefusedByTheDevice) {
  // Only deletes: the device is left with no Server Account and says so at Finish.
  put(R"({"delete": ["/"]})");
  Device device(net, kDevice);
  ASSERT_EQ(device.bootstrap_request({"ep=dev1"})->code, codes::kChanged);
  const auto* s = settle();
  EXPECT_EQ(device.log(), (std::vector<std::string>{"DELETE /", "POST /bs"}));
  EXPECT_EQ(s->state, BootstrapSession::State::kFailed);
  EXPECT_TRUE(device.tree.contains(Path{0, 3}));
}

TEST_F(BootstrapTest, RefusedWriteSkipsTheRestButStillSendsFinish) {
  put(kConfig);
  Device device(net, kDevice);
  device.refuse = [](const Message& m) { return m.path() == "/1/0"; };
  ASSERT_EQ(device.bootstrap_request({"ep=dev1"})->code, codes::kChanged);
  const auto* s = settle();
  EXPECT_EQ(s->state, BootstrapSession::State::kFailed);
  const auto log = device.log();
  EXPECT_EQ(log.back(), "POST /bs");
  EXPECT_EQ(std::count(log.begin(), log.end(), "PUT /2/0"), 0);
  EXPECT_NE(s->error.find("/1/0"), std::string::npos) << s->error;
  EXPECT_EQ(s->steps[3].result, "4.00");
  EXPECT_EQ(s->steps[4].result, "skipped");
}

TEST_F(BootstrapTest, SilentDeviceTimesOutWithoutFinish) {
  put(kConfig);
  Device device(net, kDevice);
  device.client.answer = nullptr;  // the device says nothing to the bootstrap server
  ASSERT_EQ(device.bootstrap_request({"ep=dev1"})->code, codes::kChanged);
  const auto* s = settle();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->state, BootstrapSession::State::kFailed);
  const auto log = device.log();
  EXPECT_EQ(std::count(log.begin(), log.end(), "POST /bs"), 0);
}

TEST_F(BootstrapTest, ServerInitiatedSessionReachesTheDeviceAtItsAddress) {
  put(kConfig);
  Device device(net, kDevice);
  EXPECT_FALSE(bs.start("dev1", std::nullopt, std::nullopt)) << "no address known yet";
  EXPECT_FALSE(bs.start("nobody", std::string("10.0.0.9:7"), std::nullopt));
  EXPECT_FALSE(bs.start("dev1", std::string("10.0.0.9:7"), std::string("sms")));
  ASSERT_TRUE(bs.start("dev1", std::string("10.0.0.9:7"), std::nullopt));
  const auto* s = settle();
  EXPECT_EQ(s->state, BootstrapSession::State::kFinished) << s->error;
  EXPECT_TRUE(s->server_initiated);
  EXPECT_EQ(device.log().front(), "DELETE /0");
  // Afterwards the device's last address is known: a second run needs none.
  ASSERT_TRUE(bs.start("dev1", std::nullopt, std::nullopt));
  EXPECT_EQ(settle()->state, BootstrapSession::State::kFinished);
  EXPECT_EQ(bs.metrics().server_initiated, 2u);
}

TEST_F(BootstrapTest, DiscoverAndReadStepsAreReported) {
  put(R"({"discover": true, "read": ["/1"], "delete": [],
          "security": {"1": {"uri": "coap://s", "bootstrap": false, "mode": 3, "shortServerId": 9}},
          "servers": {"1": {"shortServerId": 9, "lifetime": 60, "binding": "U"}}})");
  Device device(net, kDevice);
  ASSERT_EQ(device.bootstrap_request({"ep=dev1"})->code, codes::kChanged);
  const auto* s = settle();
  EXPECT_EQ(s->state, BootstrapSession::State::kFinished) << s->error;
  ASSERT_GE(s->steps.size(), 2u);
  ASSERT_TRUE(s->steps[0].response);
  const auto& discovery = s->steps[0].response->bootstrap_links;
  ASSERT_TRUE(discovery);
  EXPECT_EQ(discovery->version, "1.1");
  EXPECT_NE(std::find(discovery->links.begin(), discovery->links.end(),
                      lf::BootstrapLink{Path{0, 5}, 7, {}}),
            discovery->links.end());
  ASSERT_TRUE(s->steps[1].response);
  EXPECT_EQ(s->steps[1].op, lwm2m::Operation::kBootstrapRead);
  EXPECT_EQ(*s->steps[1].response->content.find_value(Path{1, 5, 0}), Value(std::int64_t{7}));
  // The old account was not deleted (no deletes): both servers are there.
  EXPECT_TRUE(device.tree.contains(Path{1, 5}));
  EXPECT_TRUE(device.tree.contains(Path{1, 1}));
}

// Seed 001: the Bootstrap-Server Account with non-persistent keys is replaced, in place, by
// one with persistent keys; from then on the client must prove those keys to us.
TEST_F(BootstrapTest, ReplacesANonPersistentBootstrapAccount) {
  put(std::string(R"({
    "security": {"1": {"uri": "coap://127.0.0.1:5683", "bootstrap": false, "mode": "nosec",
                       "shortServerId": 101}},
    "servers": {"0": {"shortServerId": 101, "lifetime": 300, "binding": "U"}},
    "replaceBootstrapAccount": {
      "security": {"uri": "coaps://bootstrap.example", "bootstrap": true, "mode": "psk",
                   "publicKeyOrIdentity": {"text": "dev1-bs"},
                   "secretKey": {"hex": "000102030405060708090a0b0c0d0e0f"}},
      "credentials": {"mode": "psk", "identity": "dev1-bs",
                      "key": "000102030405060708090a0b0c0d0e0f"}}})"));
  Device device(net, kDevice);
  ASSERT_EQ(device.bootstrap_request({"ep=dev1"})->code, codes::kChanged);
  const auto* s = settle();
  EXPECT_EQ(s->state, BootstrapSession::State::kFinished) << s->error;
  EXPECT_TRUE(s->account_replaced);
  const auto log = device.log();
  EXPECT_EQ(log.front(), "GET /");  // the Discover that finds the account's instance
  EXPECT_EQ(log[log.size() - 2], "PUT /0/3");
  // Still one Bootstrap-Server Account, now with the persistent PSK.
  int accounts = 0;
  for (const auto& [iid, inst] : device.tree.objects.find(0)->instances) {
    accounts += Device::is_bootstrap_account(inst) ? 1 : 0;
  }
  EXPECT_EQ(accounts, 1);
  EXPECT_EQ(*device.tree.find_value(Path{0, 3, 0}), Value("coaps://bootstrap.example"));
  EXPECT_EQ(*device.tree.find_value(Path{0, 3, 3}), Value(to_bytes("dev1-bs")));
  // The configuration now expects the new keys and replaces nothing more, durably.
  const auto* c = bs.config("dev1");
  ASSERT_TRUE(c->credentials);
  EXPECT_EQ(c->credentials->psk_identity, "dev1-bs");
  EXPECT_FALSE(c->replace_account);
  EXPECT_EQ(store.load_configs()->front().credentials, c->credentials);
  // Over plain CoAP the client can no longer prove them: Table 6.7-1 has 4.00 for that.
  EXPECT_EQ(device.bootstrap_request({"ep=dev1"})->code, codes::kBadRequest);
}

// What Leshan and Anjay answer to Bootstrap-Discover: the version on a root link.
TEST_F(BootstrapTest, ReplacementFindsTheAccountInAnotherClientsDiscoverAnswer) {
  put(R"({"replaceBootstrapAccount": {"security": {"uri": "coap://b2", "bootstrap": true}},
          "security": {"1": {"uri": "coap://s", "bootstrap": false, "shortServerId": 7}},
          "servers": {"0": {"shortServerId": 7, "lifetime": 60, "binding": "U"}}})");
  Device device(net, kDevice);
  device.discover_answer =
      "</>;lwm2m=1.1,</0/3>;uri=\"coap://bootstrap.example\",</0/5>;ssid=7;uri=\"coap://old."
      "example\",</1>;ver=1.1,</1/5>;ssid=7,</3>;ver=1.1,</3/0>";
  ASSERT_EQ(device.bootstrap_request({"ep=dev1"})->code, codes::kChanged);
  const auto* s = settle();
  EXPECT_EQ(s->state, BootstrapSession::State::kFinished) << s->error;
  EXPECT_TRUE(s->account_replaced);
  EXPECT_EQ(*device.tree.find_value(Path{0, 3, 0}), Value("coap://b2"));
}

TEST_F(BootstrapTest, ReplacementWithoutAnAccountToReplaceFails) {
  put(R"({"replaceBootstrapAccount": {"security": {"uri": "coap://b", "bootstrap": true}},
          "security": {"1": {"uri": "coap://s", "bootstrap": false, "shortServerId": 1}},
          "servers": {"0": {"shortServerId": 1, "lifetime": 60, "binding": "U"}}})");
  Device device(net, kDevice);
  device.tree.objects.erase(0);  // nothing without an ssid to find
  ASSERT_EQ(device.bootstrap_request({"ep=dev1"})->code, codes::kChanged);
  const auto* s = settle();
  EXPECT_EQ(s->state, BootstrapSession::State::kFailed);
  EXPECT_NE(s->error.find("no Bootstrap-Server Account"), std::string::npos) << s->error;
  EXPECT_EQ(device.log().back(), "POST /bs");
}

TEST_F(BootstrapTest, NewRequestSupersedesARunningSession) {
  put(kConfig);
  Device device(net, kDevice);
  device.client.answer = nullptr;
  ASSERT_EQ(device.bootstrap_request({"ep=dev1"})->code, codes::kChanged);
  device.client.answer = [&](const Message& m) { return device.handle(m); };
  ASSERT_EQ(device.bootstrap_request({"ep=dev1"})->code, codes::kChanged);
  EXPECT_EQ(settle()->state, BootstrapSession::State::kFinished);
  EXPECT_NE(
      std::find(events.begin(), events.end(), "failed: superseded by a new bootstrap session"),
      events.end());
}

TEST_F(BootstrapTest, BootstrapPackCarriesTheWrites) {
  put(kConfig);
  Device device(net, kDevice);
  lwm2m::BootstrapPackRequest pr;
  pr.endpoint = "dev1";
  pr.accept = 112;
  auto answer = device.client.exchange(binding::coap_binding::encode_bootstrap_pack_request(pr));
  ASSERT_TRUE(answer);
  ASSERT_EQ(answer->code, codes::kContent);
  EXPECT_EQ(answer->content_format(), 112u);
  auto records = fmt::decode_records(ContentFormat::kSenmlCbor, answer->payload, models);
  ASSERT_TRUE(records) << records.error().reason;
  auto tree = lwm2m::Tree::from_records(*records);
  EXPECT_EQ(*tree, bs.config("dev1")->writes);
  // No Bootstrap-Finish follows a pack, and no session starts.
  net.settle();
  EXPECT_TRUE(device.client.received.empty());

  pr.accept = 11542;  // TLV cannot carry several objects
  EXPECT_EQ(device.client.exchange(binding::coap_binding::encode_bootstrap_pack_request(pr))->code,
            codes::kNotAcceptable);
  pr.endpoint = "stranger";
  pr.accept.reset();
  EXPECT_EQ(device.client.exchange(binding::coap_binding::encode_bootstrap_pack_request(pr))->code,
            codes::kBadRequest);
  put(std::string(kConfig).insert(1, R"("pack": false,)"));
  pr.endpoint = "dev1";
  EXPECT_EQ(device.client.exchange(binding::coap_binding::encode_bootstrap_pack_request(pr))->code,
            codes::kMethodNotAllowed);
}

// Core TS E.1/E.2: the configuration of docs/bootstrap.md leaves out Notification Storing;
// strict clients refuse a Server instance without it, so every mandatory resource is sent.
TEST_F(BootstrapTest, AccountInstancesCarryEveryMandatoryResource) {
  put(R"({"security": {"1": {"uri": "coap://127.0.0.1:5683", "bootstrap": false,
                              "mode": "nosec", "shortServerId": 101}},
          "servers": {"0": {"shortServerId": 101, "lifetime": 300, "binding": "U"}}})");
  Device device(net, kDevice);
  ASSERT_EQ(device.bootstrap_request({"ep=dev1"})->code, codes::kChanged);
  const auto* s = settle();
  EXPECT_EQ(s->state, BootstrapSession::State::kFinished) << s->error;
  EXPECT_EQ(device.tree.find_value(Path{1, 0, 1})->as_number(), 300.0);  // as written
  EXPECT_EQ(*device.tree.find_value(Path{1, 0, 6}), Value(true));
  EXPECT_EQ(*device.tree.find_value(Path{1, 0, 7}), Value("U"));
  for (std::uint16_t rid : {std::uint16_t{3}, std::uint16_t{4}, std::uint16_t{5}}) {
    EXPECT_EQ(*device.tree.find_value(Path{0, 1, rid}), Value(Bytes{})) << rid;
  }
  // The filled defaults are what the API shows: nothing is sent that cannot be read back.
  const auto j = config_to_json(*bs.config("dev1"), server::Secrets::kInclude);
  EXPECT_EQ(j["servers"]["0"]["notificationStoring"], true);
}

TEST(BootstrapConfigTest, RejectsConfigurationsThatBreakTheRules) {
  const auto models = lwm2m::model::ObjectRegistry::with_builtin();
  auto parse = [&](const char* text) {
    return config_from_json("d", nlohmann::json::parse(text), models);
  };
  EXPECT_FALSE(parse(R"({"read": ["/3"]})"));  // Bootstrap-Read is for /1 and /2
  EXPECT_FALSE(parse(R"({"read": ["/1/0/1"]})"));
  EXPECT_FALSE(parse(R"({"delete": ["/1/0/1"]})"));
  EXPECT_FALSE(parse(R"({"servers": {"0": {"shortServerId": 5}}})"));  // no Security for 5
  EXPECT_FALSE(parse(R"({"security": {"0": {"bootstrap": true}, "1": {"bootstrap": true}}})"));
  EXPECT_FALSE(parse(R"({"security": {"0": {"bootstrap": true}},
                         "replaceBootstrapAccount": {"security": {"bootstrap": true}}})"));
  EXPECT_FALSE(parse(R"({"replaceBootstrapAccount": {"security": {"bootstrap": false}}})"));
  EXPECT_FALSE(parse(R"({"security": {"0": {"colour": "red"}}})"));
  EXPECT_FALSE(parse(R"({"security": {"0": {"mode": "magic"}}})"));
  EXPECT_FALSE(parse(R"({"security": {"0": {"secretKey": {"hex": "zz"}}}})"));
  EXPECT_FALSE(
      parse(R"({"security": {"1": {"bootstrap": false, "shortServerId": 1}}})"));  // no URI
  EXPECT_FALSE(parse(R"({"security": {"1": {"uri": "", "shortServerId": 1}}})"));  // empty URI
  EXPECT_FALSE(parse(R"({"security": {"1": {"uri": "coaps://s", "mode": "psk", "shortServerId": 1}},
                         "servers": {"0": {"shortServerId": 1}}})"));  // PSK without keys
  EXPECT_FALSE(parse(R"({"security": {"1": {"uri": "coap://s", "shortServerId": 1}},
                         "servers": {"0": {"lifetime": 60}}})"));      // Server without its ID
  EXPECT_FALSE(parse(R"({"format": "text"})"));
  EXPECT_FALSE(parse(R"({"surprise": 1})"));
  EXPECT_TRUE(parse(R"({})"));
}

TEST(BootstrapConfigTest, JsonRoundTrips) {
  const auto models = lwm2m::model::ObjectRegistry::with_builtin();
  auto c = config_from_json("dev1", nlohmann::json::parse(R"({
    "delete": ["/"], "discover": true, "read": ["/2"], "format": "senml-cbor",
    "security": {"1": {"uri": "coaps://s:5684", "bootstrap": false, "mode": "psk",
                       "publicKeyOrIdentity": {"text": "dev1"}, "secretKey": {"hex": "abcd"},
                       "shortServerId": 101}},
    "servers": {"0": {"shortServerId": 101, "lifetime": 300, "binding": "UQ"}},
    "acl": {"0": {"objectId": 1, "instanceId": 0, "acl": {"101": 31}, "owner": 101}},
    "objects": {"/3303/0/5701": "Cel"},
    "credentials": {"mode": "psk", "identity": "dev1-bs", "key": "0102"}
  })"),
                            models);
  ASSERT_TRUE(c) << c.error().reason;
  EXPECT_EQ(*c->writes.find_value(Path{0, 1, 2}), Value(std::int64_t{0}));
  EXPECT_EQ(*c->writes.find_value(Path{0, 1, 5}), Value(Bytes{0xab, 0xcd}));
  EXPECT_EQ(*c->writes.find_value(Path{3303, 0, 5701}), Value("Cel"));
  const auto j = config_to_json(*c, server::Secrets::kInclude);
  EXPECT_EQ(j["security"]["1"]["mode"], "psk");
  auto again = config_from_json("dev1", j, models);
  ASSERT_TRUE(again) << again.error().reason;
  EXPECT_EQ(again->writes, c->writes);
  EXPECT_EQ(again->deletes, c->deletes);
  EXPECT_EQ(again->reads, c->reads);
  EXPECT_EQ(again->format, c->format);
  EXPECT_EQ(again->credentials, c->credentials);
  EXPECT_EQ(again->discover, true);
}

// What the API shows: that a key is set, never the key.
TEST(BootstrapConfigTest, HiddenSecretsSayTheyAreSet) {
  const auto models = lwm2m::model::ObjectRegistry::with_builtin();
  auto c = config_from_json("dev1", nlohmann::json::parse(R"({
    "security": {"1": {"uri": "coaps://s:5684", "bootstrap": false, "mode": "psk",
                       "publicKeyOrIdentity": {"text": "dev1"}, "secretKey": {"hex": "abcd"},
                       "shortServerId": 101}},
    "servers": {"0": {"shortServerId": 101, "lifetime": 300, "binding": "U"}},
    "oscore": {"0": {"masterSecret": {"hex": "0102030405"}, "senderId": {"hex": "01"},
                     "recipientId": {"hex": "02"}}},
    "credentials": {"mode": "psk", "identity": "dev1-bs", "key": "0102"},
    "replaceBootstrapAccount": {"security": {"uri": "coaps://bs:5784", "bootstrap": true,
                                             "mode": "psk", "publicKeyOrIdentity": {"text": "n"},
                                             "secretKey": {"hex": "beef"}},
                                "credentials": {"mode": "psk", "identity": "n", "key": "0a0b"}}
  })"),
                            models);
  ASSERT_TRUE(c) << c.error().reason;
  const auto j = config_to_json(*c, server::Secrets::kHide);
  const std::string text = j.dump();
  for (const char* secret :
       {"abcd", "q80", "0102030405", "AQIDBAU", "0102", "beef", "vu8", "0a0b"}) {
    EXPECT_EQ(text.find(secret), std::string::npos) << secret << " in " << text;
  }
  EXPECT_EQ(j["security"]["1"]["secretKey"], (nlohmann::json{{"set", true}}));
  EXPECT_EQ(j["security"]["1"]["publicKeyOrIdentity"], "ZGV2MQ==");
  EXPECT_EQ(j["oscore"]["0"]["masterSecret"], (nlohmann::json{{"set", true}}));
  EXPECT_EQ(j["credentials"]["identity"], "dev1-bs");
  EXPECT_EQ(j["credentials"]["keySet"], true);
  EXPECT_FALSE(j["credentials"].contains("key"));
  EXPECT_EQ(j["replaceBootstrapAccount"]["security"]["secretKey"], (nlohmann::json{{"set", true}}));
  EXPECT_FALSE(j["replaceBootstrapAccount"]["credentials"].contains("key"));
  // Put back as it was read, a hidden secret is refused, not written as a key.
  EXPECT_FALSE(config_from_json("dev1", j, models));
}

TEST(FileBootstrapStoreTest, KeepsConfigurationsAcrossReopening) {
  const auto models = lwm2m::model::ObjectRegistry::with_builtin();
  const auto dir =
      std::filesystem::temp_directory_path() / ("tether-bs-store-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "bootstrap.json").string();
  {
    auto store = FileBootstrapStore::open(file, models);
    ASSERT_TRUE(store);
    auto c = config_from_json("a", nlohmann::json::parse(kConfig), models);
    ASSERT_TRUE(c);
    ASSERT_TRUE((*store)->save_config(*c));
    c->endpoint = "b";
    ASSERT_TRUE((*store)->save_config(*c));
    ASSERT_TRUE((*store)->remove_config("a"));
  }
  auto reopened = FileBootstrapStore::open(file, models);
  ASSERT_TRUE(reopened);
  auto configs = (*reopened)->load_configs();
  ASSERT_EQ(configs->size(), 1u);
  EXPECT_EQ(configs->front().endpoint, "b");
  EXPECT_EQ(*configs->front().writes.find_value(Path{1, 0, 1}), Value(std::uint64_t{300}));
  // A damaged file is refused, not silently replaced by an empty store.
  std::ofstream(file) << "{\"b\": {\"servers\": ";
  EXPECT_FALSE(FileBootstrapStore::open(file, models));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tether::bootstrap
