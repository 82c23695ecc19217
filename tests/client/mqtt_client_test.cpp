// Our LwM2M client with our server and bootstrap server over the MQTT binding (Transport TS
// 8), on virtual time, through an in-memory broker: bootstrap on the bs topic, register,
// reads in each content format, write, execute, observe with notifications and cancel, Send,
// queue mode, de-register.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "bootstrap/bootstrap_config_json.hpp"
#include "bootstrap/bootstrap_server.hpp"
#include "bootstrap/store/memory/memory_bootstrap_store.hpp"
#include "client/link/mqtt_client_link.hpp"
#include "client/lwm2m_client.hpp"
#include "client/objects/account_objects.hpp"
#include "client/objects/temperature_object.hpp"
#include "client/security_credentials.hpp"
#include "common/random.hpp"
#include "lwm2m/model/object_registry.hpp"
#include "server/link/mqtt_server_link.hpp"
#include "server/lwm2m_server.hpp"
#include "server/store/credentials_json.hpp"
#include "server/store/memory/memory_store.hpp"
#include "support/manual_clock.hpp"
#include "support/memory_broker.hpp"

namespace tether::client {
namespace {

namespace mq = binding::mqtt;
using lwm2m::Operation;
using lwm2m::Path;
using lwm2m::Value;
using lwm2m::format::ContentFormat;
using tether::testing::ManualClock;
using tether::testing::MemoryBroker;

constexpr const char* kPrefix = "t";

struct MqttSession : ::testing::Test {
  MqttSession()
      : models(lwm2m::model::ObjectRegistry::with_builtin()),
        server(server::ServerConfig{}, clock, random, store, models),
        bs(bootstrap::BootstrapServerConfig{}, clock, bs_store, models),
        data(models),
        device(add_standard_objects(data, DeviceInfo{}, clock)) {
    auto server_link = [&](mq::Interface i) {
      server::MqttLinkConfig c;
      c.prefix = kPrefix;
      c.interface = i;
      c.first_token = i == mq::Interface::kBootstrap ? 7'000'000 : 9'000'000;
      return std::make_unique<server::MqttServerLink>(c, models, broker.publisher());
    };
    auto rd = server_link(mq::Interface::kRegistration);
    rd_link = rd.get();
    server.attach(std::move(rd));
    auto bsl = server_link(mq::Interface::kBootstrap);
    bs_link = bsl.get();
    bs.attach(std::move(bsl));
    auto t = std::make_unique<TemperatureObject>();
    temperature = t.get();
    (void)data.add(std::move(t));
    server.set_event_handler([this](const server::ServerEvent& e) { server_events.push_back(e); });
  }

  void make_client(ClientConfig config = {}) {
    config.endpoint = "dev1";
    client = std::make_unique<Lwm2mClient>(config, clock, data);
    MqttClientLinkConfig lc;
    lc.prefix = kPrefix;
    lc.endpoint = "dev1";
    lc.first_token = 100;
    auto link = std::make_unique<MqttClientLink>(lc, broker.publisher(), &data);
    client_link = link.get();
    client->attach(std::move(link));
    client->set_event_handler([this](const ClientEvent& e) { client_events.push_back(e); });
    broker.subscribers = {
        [this](std::string_view t, ByteView b, Instant now) { rd_link->on_message(t, b, now); },
        [this](std::string_view t, ByteView b, Instant now) { bs_link->on_message(t, b, now); },
        [this](std::string_view t, ByteView b, Instant now) {
          client_link->on_message(t, b, now);
        }};
  }

  void add_server_account(const std::string& binding = "M") {
    (void)data.put(Path{0, 0, 0}, Value("mqtt://127.0.0.1:1883"));
    (void)data.put(Path{0, 0, 1}, Value(false));
    (void)data.put(Path{0, 0, 2}, Value(std::int64_t{3}));
    (void)data.put(Path{0, 0, 10}, Value(std::int64_t{101}));
    (void)data.put(Path{1, 0, 0}, Value(std::int64_t{101}));
    (void)data.put(Path{1, 0, 1}, Value(std::int64_t{300}));
    (void)data.put(Path{1, 0, 7}, Value(binding));
  }

  // Delivers, then fires what is due, until `until` (virtual time) or nothing is left.
  void run(Duration span) {
    const Instant end = clock.now() + span;
    for (int i = 0; i < 10'000; ++i) {
      broker.now = clock.now();
      broker.deliver();
      std::optional<Instant> next;
      auto consider = [&](std::optional<Instant> t) {
        if (t && (!next || *t < *next)) next = t;
      };
      consider(client->next_deadline());
      consider(server.next_deadline());
      consider(bs.next_deadline());
      consider(rd_link->next_deadline());
      consider(bs_link->next_deadline());
      consider(client_link->next_deadline());
      if (!next || *next > end) break;
      if (*next > clock.now()) clock.at = *next;
      const Instant now = clock.now();
      rd_link->on_timer(now);
      bs_link->on_timer(now);
      client_link->on_timer(now);
      client->on_timer();
      server.on_timer();
      bs.on_timer();
    }
    if (clock.now() < end) clock.at = end;
    broker.now = clock.now();
    broker.deliver();
  }

  std::optional<server::DownlinkResult> ask(lwm2m::DownlinkRequest r) {
    std::optional<server::DownlinkResult> got;
    server.send("dev1", std::move(r), {}, [&](server::DownlinkResult d) { got = std::move(d); });
    run(Duration{1'000});
    return got;
  }
  static lwm2m::DownlinkRequest at(Operation op, Path p) {
    lwm2m::DownlinkRequest r;
    r.op = op;
    r.path = p;
    return r;
  }
  std::size_t count(server::ServerEvent::Kind k) const {
    std::size_t n = 0;
    for (const auto& e : server_events) n += e.kind == k ? 1 : 0;
    return n;
  }

  MemoryBroker broker;
  ManualClock clock;
  SeededRandom random{3};
  lwm2m::model::ObjectRegistry models;
  server::MemoryStore store;
  server::Lwm2mServer server;
  bootstrap::MemoryBootstrapStore bs_store;
  bootstrap::BootstrapServer bs;
  server::MqttServerLink* rd_link = nullptr;
  server::MqttServerLink* bs_link = nullptr;
  DataModel data;
  DeviceObject& device;
  TemperatureObject* temperature = nullptr;
  std::unique_ptr<Lwm2mClient> client;
  MqttClientLink* client_link = nullptr;
  std::vector<server::ServerEvent> server_events;
  std::vector<ClientEvent> client_events;
};

TEST_F(MqttSession, RegistersReadsWritesExecutesAndDeregisters) {
  add_server_account();
  make_client();
  client->start();
  run(Duration{2'000});
  const server::Registration* r = server.find("dev1");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->transport, "mqtt");
  EXPECT_EQ(r->binding, "M");
  EXPECT_EQ(client->state(101), Lwm2mClient::State::kRegistered);
  EXPECT_EQ(client->location(101), "dev1");

  // A Read in each content format the client offers.
  for (auto f : {ContentFormat::kTlv, ContentFormat::kSenmlCbor, ContentFormat::kSenmlJson,
                 ContentFormat::kLwm2mCbor}) {
    auto read = at(Operation::kRead, Path{3, 0});
    read.format = f;
    auto got = ask(read);
    ASSERT_TRUE(got.has_value());
    ASSERT_EQ(got->status, server::DownlinkResult::Status::kAnswered) << got->message;
    EXPECT_EQ(got->response->code, lwm2m::status::kContent);
    EXPECT_NE(got->response->content.find_value(Path{3, 0, 0}), nullptr)
        << lwm2m::format::name_of(f) << ": " << got->response->decode_error;
  }
  // Write, then read back.
  auto write = at(Operation::kWrite, Path{1, 0, 1});
  ASSERT_TRUE(write.content.set(Path{1, 0, 1}, Value(std::int64_t{120})).ok());
  auto written = ask(write);
  ASSERT_TRUE(written && written->response);
  EXPECT_EQ(written->response->code, lwm2m::status::kChanged);
  EXPECT_EQ(data.value(Path{1, 0, 1})->as_number(), 120.0);
  // The new lifetime goes to the server with the next Update (named by the topic).
  run(Duration{2'000});
  EXPECT_EQ(server.find("dev1")->lifetime, 120u);
  // Execute (the Registration Update Trigger).
  auto exec = ask(at(Operation::kExecute, Path{1, 0, 8}));
  ASSERT_TRUE(exec && exec->response);
  EXPECT_EQ(exec->response->code, lwm2m::status::kChanged);

  bool stopped = false;
  client->stop([&] { stopped = true; });
  run(Duration{2'000});
  EXPECT_TRUE(stopped);
  EXPECT_EQ(server.find("dev1"), nullptr);
}

TEST_F(MqttSession, ObserveNotifiesUntilTheServerCancels) {
  add_server_account();
  make_client();
  client->start();
  run(Duration{2'000});
  auto observed = ask(at(Operation::kObserve, Path{3303, 0, 5700}));
  ASSERT_TRUE(observed.has_value());
  ASSERT_FALSE(observed->observation_id.empty()) << observed->message;
  EXPECT_EQ(client->observation_count(), 1u);
  auto pmin = at(Operation::kWriteAttributes, Path{3303, 0, 5700});
  pmin.attributes = {"pmin=1", "pmax=30"};
  ASSERT_TRUE(ask(pmin).has_value());
  temperature->tick(1.5);
  run(Duration{3'000});
  EXPECT_GE(count(server::ServerEvent::Kind::kNotification), 1u);
  const auto before = count(server::ServerEvent::Kind::kNotification);
  ASSERT_TRUE(server.cancel_observation(observed->observation_id, true));
  run(Duration{1'000});
  EXPECT_EQ(client->observation_count(), 0u);
  temperature->tick(1.5);
  run(Duration{5'000});
  EXPECT_EQ(count(server::ServerEvent::Kind::kNotification), before);
}

TEST_F(MqttSession, SendReachesTheServer) {
  add_server_account();
  make_client();
  client->start();
  run(Duration{2'000});
  std::optional<Result<lwm2m::Status>> sent;
  client->send(101, {Path{3303, 0, 5700}}, [&](Result<lwm2m::Status> r) { sent = r; });
  run(Duration{1'000});
  ASSERT_TRUE(sent.has_value());
  ASSERT_TRUE(sent->ok()) << sent->error().reason;
  EXPECT_EQ(**sent, lwm2m::status::kChanged);
  EXPECT_EQ(count(server::ServerEvent::Kind::kSend), 1u);
}

TEST_F(MqttSession, QueueModeHoldsRequestsUntilTheClientWakes) {
  add_server_account("MQ");
  ClientConfig config;
  config.queue_mode = true;
  make_client(config);
  int rests = 0;
  client_link->set_rest_handler([&rests] { ++rests; });
  client->start();
  run(Duration{2'000});
  ASSERT_NE(server.find("dev1"), nullptr);
  EXPECT_TRUE(server.find("dev1")->queue_mode);
  EXPECT_EQ(rests, 0);
  run(Duration{100'000});  // past both awake windows
  EXPECT_FALSE(server.is_awake("dev1"));
  EXPECT_EQ(rests, 1);  // asleep: the link may leave the broker
  std::optional<server::DownlinkResult> got;
  server::DownlinkOptions options;
  options.timeout = Duration{600'000};
  server.send("dev1", at(Operation::kRead, Path{3, 0, 0}), options,
              [&](server::DownlinkResult d) { got = std::move(d); });
  run(Duration{1'000});
  EXPECT_FALSE(got.has_value());  // held while it sleeps
  EXPECT_EQ(server.queue_depth("dev1"), 1u);
  run(Duration{300'000});  // its next Update wakes it
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->status, server::DownlinkResult::Status::kAnswered) << got->message;
}

TEST_F(MqttSession, BootstrapsOverMqttThenRegisters) {
  auto config = bootstrap::config_from_json("dev1", nlohmann::json::parse(R"({
    "security": {"1": {"uri": "mqtt://127.0.0.1:1883", "bootstrap": false, "mode": "nosec",
                       "shortServerId": 101}},
    "servers": {"0": {"shortServerId": 101, "lifetime": 300, "binding": "M"}}
  })"),
                                            models);
  ASSERT_TRUE(config.ok()) << config.error().reason;
  ASSERT_TRUE(bs.put_config(*config).ok());
  (void)data.put(Path{0, 9, 0}, Value("mqtt://127.0.0.1:1883"));
  (void)data.put(Path{0, 9, 1}, Value(true));
  (void)data.put(Path{0, 9, 2}, Value(std::int64_t{3}));
  make_client();
  client->start();
  run(Duration{5'000});
  const bootstrap::BootstrapSession* s = bs.session("dev1");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->state, bootstrap::BootstrapSession::State::kFinished) << s->error;
  run(Duration{5'000});
  ASSERT_NE(server.find("dev1"), nullptr);
  EXPECT_EQ(client->state(101), Lwm2mClient::State::kRegistered);
}

// Transport TS 8.6: with a COSE key on both sides, every map on the broker is a
// COSE_Encrypt0 and the session works as in clear.
TEST_F(MqttSession, CoseSealsEveryMapEndToEnd) {
  const Bytes key = *from_hex("000102030405060708090a0b0c0d0e0f");
  server::Credentials c;
  c.endpoint = "dev1";
  c.kind = server::Credentials::Kind::kCose;
  c.cose = server::CoseKeys{to_bytes("k1"), key, 10};
  ASSERT_TRUE(server.put_credentials(c).ok());
  rd_link->set_cose_keys([this](const std::string& ep) -> std::optional<mq::CoseKey> {
    auto creds = server.credentials(ep);
    if (!creds || creds->kind != server::Credentials::Kind::kCose) return std::nullopt;
    return mq::CoseKey{creds->cose.kid, creds->cose.key, creds->cose.algorithm};
  });
  // An API answer says a key is set, never which.
  const auto shown = server::credentials_json(*server.credentials("dev1"), server::Secrets::kHide);
  EXPECT_EQ(shown["mode"], "cose");
  EXPECT_EQ(shown["kid"], "6b31");
  EXPECT_TRUE(shown["keySet"].get<bool>());
  EXPECT_FALSE(shown.contains("key"));

  add_server_account();
  ASSERT_TRUE(data.add(std::make_unique<DataObject>(oid::kCose)).ok());
  ASSERT_TRUE(data.put(Path{23, 0, 0}, Value("k1")).ok());
  ASSERT_TRUE(data.put(Path{23, 0, 1}, Value(std::int64_t{10})).ok());
  ASSERT_TRUE(data.put(Path{23, 0, 2}, Value("000102030405060708090a0b0c0d0e0f")).ok());
  ASSERT_TRUE(data.put(Path{0, 0, 27, 0}, Value(lwm2m::Objlnk{23, 0})).ok());
  make_client();
  client->start();
  run(Duration{2'000});
  ASSERT_NE(server.find("dev1"), nullptr);
  auto read = ask(at(Operation::kRead, Path{3, 0, 0}));
  ASSERT_TRUE(read && read->response);
  EXPECT_EQ(read->response->code, lwm2m::status::kContent);
  // The broker saw ciphertext only: no message decodes as a map, each opens with the key.
  const mq::CoseKey k{to_bytes("k1"), key, 10};
  ASSERT_GE(broker.log.size(), 4u);
  for (const auto& m : broker.log) {
    EXPECT_FALSE(mq::decode(m.bytes).ok()) << m.topic;
    EXPECT_TRUE(mq::open(m.bytes, [&k](ByteView) { return &k; }).ok()) << m.topic;
  }
}

TEST_F(MqttSession, AnEndpointWithACoseKeyIsNotHeardInClear) {
  server::Credentials c;
  c.endpoint = "dev1";
  c.kind = server::Credentials::Kind::kCose;
  c.cose = server::CoseKeys{to_bytes("k1"), Bytes(16, 7), 10};
  ASSERT_TRUE(server.put_credentials(c).ok());
  rd_link->set_cose_keys([this](const std::string& ep) -> std::optional<mq::CoseKey> {
    auto creds = server.credentials(ep);
    if (!creds || creds->kind != server::Credentials::Kind::kCose) return std::nullopt;
    return mq::CoseKey{creds->cose.kid, creds->cose.key, creds->cose.algorithm};
  });
  add_server_account();
  make_client();
  client->start();
  run(Duration{5'000});
  EXPECT_EQ(server.find("dev1"), nullptr);
  bool counted = false;
  for (const auto& [event, n] : rd_link->counters()) counted |= event == "cose-refused" && n > 0;
  EXPECT_TRUE(counted);
}

// Transport TS 8.8: the MQTT Server object (24) linked from /0/x/26 says how to connect.
TEST_F(MqttSession, TheMqttServerObjectSaysHowToConnect) {
  add_server_account();
  EXPECT_FALSE(mqtt_server_from_security(data, 0)->has_value());  // no link: nothing
  ASSERT_TRUE(data.add(std::make_unique<DataObject>(oid::kMqttServer)).ok());
  ASSERT_TRUE(data.put(Path{24, 0, 3}, Value(false)).ok());
  ASSERT_TRUE(data.put(Path{24, 0, 5}, Value(std::int64_t{30})).ok());
  ASSERT_TRUE(data.put(Path{24, 0, 6}, Value("gw-17")).ok());
  ASSERT_TRUE(data.put(Path{24, 0, 7}, Value("tenant-a")).ok());
  ASSERT_TRUE(data.put(Path{24, 0, 8}, Value(to_bytes("secret"))).ok());
  ASSERT_TRUE(data.put(Path{0, 0, 26}, Value(lwm2m::Objlnk{24, 0})).ok());
  auto settings = mqtt_server_from_security(data, 0);
  ASSERT_TRUE(settings.ok()) << settings.error().reason;
  ASSERT_TRUE(settings->has_value());
  EXPECT_EQ((*settings)->client_id, "gw-17");
  EXPECT_EQ((*settings)->clean_session, false);
  EXPECT_EQ((*settings)->keep_alive_s, 30);
  EXPECT_EQ((*settings)->username, "tenant-a");
  EXPECT_EQ((*settings)->password, "secret");
  EXPECT_FALSE((*settings)->will.has_value());  // no Will Topic: no Will
  // The Will: topic, message, QoS and retain (resources 1, 2, 4, 0).
  ASSERT_TRUE(data.put(Path{24, 0, 1}, Value("a/status/gw-17")).ok());
  ASSERT_TRUE(data.put(Path{24, 0, 2}, Value("gone")).ok());
  ASSERT_TRUE(data.put(Path{24, 0, 4}, Value(std::int64_t{1})).ok());
  ASSERT_TRUE(data.put(Path{24, 0, 0}, Value(true)).ok());
  settings = mqtt_server_from_security(data, 0);
  ASSERT_TRUE(settings.ok() && settings->has_value());
  ASSERT_TRUE((*settings)->will.has_value());
  EXPECT_EQ((*settings)->will->topic, "a/status/gw-17");
  EXPECT_EQ((*settings)->will->message, "gone");
  EXPECT_EQ((*settings)->will->qos, 1);
  EXPECT_TRUE((*settings)->will->retain);
  ASSERT_TRUE(data.put(Path{24, 0, 4}, Value(std::int64_t{3})).ok());
  EXPECT_FALSE(mqtt_server_from_security(data, 0).ok());  // no QoS 3 in MQTT
  // A link to something else is an error, not a silent default.
  ASSERT_TRUE(data.put(Path{0, 0, 26}, Value(lwm2m::Objlnk{3, 0})).ok());
  EXPECT_FALSE(mqtt_server_from_security(data, 0).ok());
}

}  // namespace
}  // namespace tether::client
