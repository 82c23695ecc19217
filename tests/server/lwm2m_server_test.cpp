// The LwM2M server on virtual time: the Registration interface and its response codes
// (Transport TS Table 6.7-2), expiry, downlink requests one at a time, queue mode, observe,
// Send, and a restart from the store.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "lwm2m/format/codec.hpp"
#include "server/lwm2m_server.hpp"
#include "server_fixture.hpp"

namespace tether::server::testing {
namespace {

using lwm2m::DownlinkRequest;
using lwm2m::Operation;
using lwm2m::Path;
using lwm2m::format::ContentFormat;

lwm2m::Tree device_tree() {
  lwm2m::Tree t;
  t.set(Path{3, 0, 0}, lwm2m::Value("Tether")).value();
  t.set(Path{3, 0, 9}, lwm2m::Value(std::int64_t{87})).value();
  return t;
}

class ServerTest : public ::testing::Test {
 protected:
  ServerTest() : harness(net, store, config()) {}
  static ServerConfig config() {
    ServerConfig c;
    c.awake_window = Duration{20'000};
    c.default_timeout = Duration{120'000};
    return c;
  }

  // Answers Read with TLV from the device tree, and Observe by establishing it.
  static Message device_answer(const lwm2m::model::Model& model, const Message& req) {
    Message res;
    if (req.code == codes::kGet) {
      res.code = codes::kContent;
      auto path = Path::parse(req.path()).value();
      std::vector<lwm2m::Record> under;
      for (const auto& rec : device_tree().records()) {
        if (path.covers(rec.path)) under.push_back(rec);
      }
      if (under.empty()) {
        res.code = codes::kNotFound;
        return res;
      }
      lwm2m::Tree t = lwm2m::Tree::from_records(under).value();
      res.set_content_format(static_cast<std::uint16_t>(ContentFormat::kTlv));
      res.payload = lwm2m::format::encode(ContentFormat::kTlv, path, t, model).value();
      if (req.observe() == 0u) res.set_observe(1);
      return res;
    }
    res.code = codes::kChanged;
    return res;
  }

  DownlinkResult send_and_wait(const std::string& ep, DownlinkRequest r,
                               DownlinkOptions options = {}) {
    std::optional<DownlinkResult> got;
    harness.server.send(ep, std::move(r), options, [&](DownlinkResult d) { got = std::move(d); });
    net.run_until([&] { return got.has_value(); }, Duration{300'000});
    EXPECT_TRUE(got.has_value());
    return got.value_or(DownlinkResult{});
  }

  static DownlinkRequest request(Operation op, Path p) {
    DownlinkRequest r;
    r.op = op;
    r.path = p;
    return r;
  }
  static DownlinkRequest read(Path p) { return request(Operation::kRead, p); }

  SimNetwork net;
  MemoryStore store;
  ServerHarness harness;
};

TEST_F(ServerTest, RegisterAnswersCreatedWithALocationUnderRd) {
  FakeClient client(net, 100);
  auto r = client.register_with({"ep=dev1", "lt=300", "lwm2m=1.1", "b=U"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->code, codes::kCreated);
  EXPECT_THAT(client.location, ::testing::StartsWith("/rd/"));
  const Registration* reg = harness.server.find("dev1");
  ASSERT_NE(reg, nullptr);
  EXPECT_EQ("/rd/" + reg->id, client.location);
  EXPECT_EQ(reg->lifetime, 300u);
  EXPECT_EQ(reg->version, "1.1");
  EXPECT_EQ(reg->address, "10.0.0.1:100");
  ASSERT_EQ(reg->objects->objects.size(), 3u);
  EXPECT_EQ(harness.events_of(ServerEvent::Kind::kRegistered).size(), 1u);
  EXPECT_EQ(store.load_registrations()->size(), 1u);
  // A second device with the same list shares the registry's copy of it (issue 22).
  FakeClient twin(net, 101);
  ASSERT_EQ(twin.register_with({"ep=twin"})->code, codes::kCreated);
  EXPECT_EQ(harness.server.find("twin")->objects.shared(), reg->objects.shared());
}

TEST_F(ServerTest, RegistrationRefusalsCarryTheCodesOfTable672) {
  FakeClient client(net, 100);
  struct Case {
    std::vector<std::string> queries;
    coap::Code code;
  };
  const std::vector<Case> cases = {
      {{"lt=60"}, codes::kBadRequest},                      // no endpoint name
      {{"ep=a", "color=blue"}, codes::kBadRequest},         // unknown parameter
      {{"ep=a", "lt=0"}, codes::kBadRequest},               // lifetime must be positive
      {{"ep=a", "lt=x"}, codes::kBadRequest},               // not a number
      {{"ep=a", "ep=b"}, codes::kBadRequest},               // repeated
      {{"ep=a", "b=Z"}, codes::kBadRequest},                // not a binding
      {{"ep=a", "Q=1"}, codes::kBadRequest},                // Q takes no value
      {{"ep=a", "lwm2m=2.0"}, codes::kPreconditionFailed},  // unsupported version
      {{"ep=a", "lwm2m=1.3"}, codes::kPreconditionFailed},
      {{"ep=a", "lwm2m=one"}, codes::kBadRequest},
      {{"ep=a", "lwm2m=1.1", "b=UQ"}, codes::kBadRequest},  // 1.1 has Q as a parameter
  };
  for (const auto& c : cases) {
    auto r = client.register_with(c.queries);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->code, c.code) << ::testing::PrintToString(c.queries);
  }
  auto bad_links = client.register_with({"ep=a"}, "</3/0");
  ASSERT_TRUE(bad_links.ok());
  EXPECT_EQ(bad_links->code, codes::kBadRequest);
  EXPECT_EQ(harness.server.registration_count(), 0u);

  // Wrong method on /rd, and unknown locations.
  auto get = client.exchange(coap::make_request(codes::kGet, "/rd"));
  EXPECT_EQ(get->code, codes::kMethodNotAllowed);
  client.location = "/rd/nosuch";
  EXPECT_EQ(client.update()->code, codes::kNotFound);
  EXPECT_EQ(client.exchange(coap::make_request(codes::kDelete, "/rd/nosuch"))->code,
            codes::kNotFound);
  EXPECT_EQ(client.exchange(coap::make_request(codes::kPost, "/elsewhere"))->code,
            codes::kNotFound);
}

TEST_F(ServerTest, AcceptsClientsOfEachSupportedVersion) {
  FakeClient client(net, 100);
  for (const char* v : {"1.0", "1.1", "1.2"}) {
    auto r = client.register_with({std::string("ep=v") + v, std::string("lwm2m=") + v});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->code, codes::kCreated) << v;
  }
  // No lwm2m= means 1.0; a 1.0 binding "UQ" means queue mode.
  auto r = client.register_with({"ep=old", "b=UQ"});
  EXPECT_EQ(r->code, codes::kCreated);
  EXPECT_EQ(harness.server.find("old")->version, "1.0");
  EXPECT_TRUE(harness.server.find("old")->queue_mode);
  EXPECT_EQ(harness.server.find("old")->binding, "U");
}

TEST_F(ServerTest, EndpointWithCredentialsMustConnectSecurely) {
  Credentials c;
  c.endpoint = "secure1";
  c.kind = Credentials::Kind::kPsk;
  c.psk_identity = "secure1";
  c.psk_key = Bytes{1, 2, 3};
  ASSERT_TRUE(harness.server.put_credentials(c).ok());
  FakeClient client(net, 100);
  EXPECT_EQ(client.register_with({"ep=secure1"})->code, codes::kForbidden);
  EXPECT_EQ(client.register_with({"ep=plain1"})->code, codes::kCreated);
}

TEST_F(ServerTest, UpdateChangesOnlyWhatItCarries) {
  FakeClient client(net, 100);
  ASSERT_EQ(client.register_with({"ep=dev1", "lt=300", "b=U", "sms=123"})->code, codes::kCreated);
  net.run_for(Duration{5'000});
  EXPECT_EQ(client.update({"lt=600"})->code, codes::kChanged);
  const Registration* reg = harness.server.find("dev1");
  EXPECT_EQ(reg->lifetime, 600u);
  EXPECT_EQ(reg->binding, "U");
  EXPECT_EQ(reg->sms, "123");
  EXPECT_EQ(reg->objects->objects.size(), 3u);
  EXPECT_EQ(reg->updated_at - reg->registered_at, 5'000);

  // A new object list replaces the old one.
  Message m = coap::make_request(codes::kPost, client.location);
  m.set_content_format(coap::content_format::kLinkFormat);
  m.payload = to_bytes("</3/0>,</4/0>");
  EXPECT_EQ(client.exchange(std::move(m))->code, codes::kChanged);
  ASSERT_EQ(harness.server.find("dev1")->objects->objects.size(), 2u);
  EXPECT_EQ(harness.server.find("dev1")->objects->objects[1].id, 4);
  EXPECT_EQ(client.update({"ep=other"})->code, codes::kBadRequest);  // not an Update parameter
  EXPECT_EQ(harness.events_of(ServerEvent::Kind::kUpdated).size(), 2u);
}

TEST_F(ServerTest, SecondRegisterReplacesTheFirst) {
  FakeClient client(net, 100);
  ASSERT_EQ(client.register_with({"ep=dev1"})->code, codes::kCreated);
  const std::string first = client.location;
  ASSERT_EQ(client.register_with({"ep=dev1", "lt=120"})->code, codes::kCreated);
  EXPECT_NE(client.location, first);
  EXPECT_EQ(harness.server.registration_count(), 1u);
  EXPECT_EQ(harness.server.find("dev1")->lifetime, 120u);
  client.location = first;
  EXPECT_EQ(client.update()->code, codes::kNotFound);
}

TEST_F(ServerTest, DeregisterRemovesTheRegistration) {
  FakeClient client(net, 100);
  ASSERT_EQ(client.register_with({"ep=dev1", "lwm2m=1.1", "Q"})->code, codes::kCreated);
  EXPECT_EQ(harness.server.awake_count(), 1u);
  auto r = client.exchange(coap::make_request(codes::kDelete, client.location));
  EXPECT_EQ(r->code, codes::kDeleted);
  EXPECT_EQ(harness.server.awake_count(), 0u);
  EXPECT_EQ(harness.server.fleet_counts(), FleetCounts{});
  EXPECT_EQ(harness.server.find("dev1"), nullptr);
  EXPECT_TRUE(store.load_registrations()->empty());
  EXPECT_EQ(harness.events_of(ServerEvent::Kind::kDeregistered).size(), 1u);
  EXPECT_EQ(client.update()->code, codes::kNotFound);
}

// --workers: the client registered with another worker; this one lets its record go
// without telling anyone the client left, and ends what waited for the client here.
TEST_F(ServerTest, ReleaseEndsARegistrationWithoutAnEvent) {
  FakeClient client(net, 100);
  ASSERT_EQ(client.register_with({"ep=dev1"})->code, codes::kCreated);
  std::optional<DownlinkResult> waiting;
  harness.server.send("dev1", read(Path{3, 0}), {},
                      [&](DownlinkResult r) { waiting = std::move(r); });
  const std::size_t events_before = harness.events.size();
  EXPECT_TRUE(harness.server.release("dev1"));
  EXPECT_FALSE(harness.server.release("dev1"));
  EXPECT_EQ(harness.server.find("dev1"), nullptr);
  EXPECT_TRUE(store.load_registrations()->empty());
  EXPECT_EQ(harness.events.size(), events_before);
  ASSERT_TRUE(waiting);
  EXPECT_EQ(waiting->status, DownlinkResult::Status::kEnded);
  EXPECT_EQ(client.update()->code, codes::kNotFound);
}

TEST_F(ServerTest, SilentClientExpiresAfterItsLifetime) {
  FakeClient client(net, 100);
  ASSERT_EQ(client.register_with({"ep=dev1", "lt=60"})->code, codes::kCreated);
  net.run_for(Duration{40'000});
  ASSERT_EQ(client.update()->code, codes::kChanged);  // renews: 60 s from now
  net.run_for(Duration{59'000});
  EXPECT_NE(harness.server.find("dev1"), nullptr);
  net.run_for(Duration{2'000});
  EXPECT_EQ(harness.server.find("dev1"), nullptr);
  EXPECT_EQ(harness.events_of(ServerEvent::Kind::kExpired).size(), 1u);
  EXPECT_TRUE(store.load_registrations()->empty());
}

TEST_F(ServerTest, ReadReachesTheClientAndDecodesItsAnswer) {
  FakeClient client(net, 100);
  client.answer = [&](const Message& req) { return device_answer(harness.models, req); };
  ASSERT_EQ(client.register_with({"ep=dev1"})->code, codes::kCreated);
  auto result = send_and_wait("dev1", read(Path{3, 0}));
  ASSERT_EQ(result.status, DownlinkResult::Status::kAnswered) << result.message;
  EXPECT_EQ(result.response->code, codes::kContent);
  EXPECT_EQ(result.response->format, ContentFormat::kTlv);
  EXPECT_EQ(result.response->content, device_tree());
  ASSERT_EQ(client.received.size(), 1u);
  EXPECT_EQ(client.received[0].path(), "/3/0");
  EXPECT_EQ(harness.server.metrics().requests.at({"read", "2.05"}), 1u);
}

TEST_F(ServerTest, RequestsUseTheAlternatePath) {
  FakeClient client(net, 100);
  client.answer = [&](const Message& req) {
    Message res;
    res.code = req.code == codes::kDelete ? codes::kDeleted : codes::kCreated;
    if (req.code == codes::kPost) {
      for (const char* segment : {"lwm2m", "3303", "4"}) {
        res.options.add(coap::option::kLocationPath, segment);
      }
    }
    return res;
  };
  ASSERT_EQ(client.register_with({"ep=dev1"}, "</lwm2m>;rt=\"oma.lwm2m\",</lwm2m/3/0>")->code,
            codes::kCreated);
  EXPECT_EQ(send_and_wait("dev1", request(Operation::kDelete, Path{3, 0})).response->code,
            codes::kDeleted);
  EXPECT_EQ(client.received.at(0).path(), "/lwm2m/3/0");

  // A Create's Location-Path also lies under the alternate path; the answer names the
  // instance without it.
  DownlinkRequest create;
  create.op = Operation::kCreate;
  create.path = Path{3303};
  create.content.set(Path{3303, 4, 5700}, lwm2m::Value(20.5)).value();
  auto created = send_and_wait("dev1", create);
  EXPECT_EQ(client.received.at(1).path(), "/lwm2m/3303");
  ASSERT_TRUE(created.response && created.response->created);
  EXPECT_EQ(*created.response->created, Path({3303, 4}));
}

TEST_F(ServerTest, UnknownEndpointAndSilentClientFailClearly) {
  EXPECT_EQ(send_and_wait("ghost", read(Path{3, 0})).status,
            DownlinkResult::Status::kNotRegistered);
  FakeClient client(net, 100);  // no answer handler: requests go unanswered
  ASSERT_EQ(client.register_with({"ep=dev1"})->code, codes::kCreated);
  DownlinkOptions quick;
  quick.timeout = Duration{5'000};
  auto result = send_and_wait("dev1", read(Path{3, 0}), quick);
  EXPECT_EQ(result.status, DownlinkResult::Status::kTimeout);
}

TEST_F(ServerTest, OneRequestAtATimePerClient) {
  FakeClient client(net, 100);
  ASSERT_EQ(client.register_with({"ep=dev1"})->code, codes::kCreated);
  std::vector<DownlinkResult> results;
  for (int i = 0; i < 3; ++i) {
    DownlinkOptions options;
    if (i == 0) options.timeout = Duration{5'000};  // the wait counts from submission
    harness.server.send("dev1", read(Path{3, 0, static_cast<std::uint16_t>(i)}), options,
                        [&](DownlinkResult d) { results.push_back(std::move(d)); });
  }
  net.settle();
  // Unanswered so far: only the first went out (NSTART = 1).
  EXPECT_EQ(client.received.size(), 1u);
  EXPECT_EQ(harness.server.queue_depth("dev1"), 3u);
  client.answer = [&](const Message& req) { return device_answer(harness.models, req); };
  // The first request is never answered (the handler was unset when it arrived); it times
  // out, and the others follow in order.
  net.run_until([&] { return results.size() == 3; }, Duration{400'000});
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].status, DownlinkResult::Status::kTimeout);
  EXPECT_EQ(results[1].status, DownlinkResult::Status::kAnswered);
  EXPECT_EQ(results[1].response->code, codes::kNotFound);
  EXPECT_EQ(client.received.at(1).path(), "/3/0/1");
  EXPECT_EQ(client.received.at(2).path(), "/3/0/2");
}

TEST_F(ServerTest, QueueModeHoldsRequestsUntilTheClientWakes) {
  FakeClient client(net, 100);
  client.answer = [&](const Message& req) { return device_answer(harness.models, req); };
  ASSERT_EQ(client.register_with({"ep=dev1", "lwm2m=1.1", "Q"})->code, codes::kCreated);
  EXPECT_EQ(harness.events_of(ServerEvent::Kind::kAwake).size(), 1u);
  EXPECT_EQ(harness.server.awake_count(), 1u);
  net.run_for(Duration{21'000});  // past the awake window
  EXPECT_EQ(harness.events_of(ServerEvent::Kind::kSleeping).size(), 1u);
  EXPECT_FALSE(harness.server.is_awake("dev1"));
  EXPECT_EQ(harness.server.awake_count(), 0u);
  EXPECT_EQ(harness.server.fleet_counts().queue_mode, 1u);

  std::optional<DownlinkResult> waited;
  harness.server.send("dev1", read(Path{3, 0, 0}), {},
                      [&](DownlinkResult d) { waited = std::move(d); });
  DownlinkOptions queue_only;
  queue_only.return_when_queued = true;
  std::optional<DownlinkResult> queued;
  harness.server.send("dev1", read(Path{3, 0, 9}), queue_only,
                      [&](DownlinkResult d) { queued = std::move(d); });
  ASSERT_TRUE(queued.has_value());
  EXPECT_EQ(queued->status, DownlinkResult::Status::kQueued);
  net.run_for(Duration{30'000});
  EXPECT_TRUE(client.received.empty());
  EXPECT_FALSE(waited.has_value());

  ASSERT_EQ(client.update()->code, codes::kChanged);  // wakes up
  EXPECT_EQ(harness.server.awake_count(), 1u);
  net.run_until([&] { return waited.has_value(); }, Duration{10'000});
  net.settle();
  ASSERT_TRUE(waited.has_value());
  EXPECT_EQ(waited->status, DownlinkResult::Status::kAnswered);
  ASSERT_EQ(client.received.size(), 2u);
  auto responses = harness.events_of(ServerEvent::Kind::kResponse);
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].ticket, queued->ticket);
  EXPECT_EQ(responses[0].content->code, codes::kContent);
}

TEST_F(ServerTest, ARequestForASleeperAsksOnceToWakeItUntilItIsHeardFrom) {
  FakeClient client(net, 100);
  client.answer = [&](const Message& req) { return device_answer(harness.models, req); };
  std::vector<std::string> woken;
  bool gateway_up = true;
  harness.server.set_sleeper_handler([&](const Registration& r) {
    woken.push_back(r.endpoint + " " + r.binding);
    return gateway_up;
  });
  ASSERT_EQ(client.register_with({"ep=dev1", "lwm2m=1.1", "b=US", "Q", "sms=+1555"})->code,
            codes::kCreated);
  harness.server.send("dev1", read(Path{3, 0, 0}), {}, [](DownlinkResult) {});
  EXPECT_TRUE(woken.empty());  // awake: the request simply goes
  net.run_for(Duration{21'000});
  DownlinkOptions queue_only;
  queue_only.return_when_queued = true;
  harness.server.send("dev1", read(Path{3, 0, 1}), queue_only, [](DownlinkResult) {});
  harness.server.send("dev1", read(Path{3, 0, 2}), queue_only, [](DownlinkResult) {});
  ASSERT_EQ(woken, std::vector<std::string>{"dev1 US"});  // once for both
  ASSERT_EQ(client.update()->code, codes::kChanged);
  net.run_for(Duration{21'000});  // asleep again
  gateway_up = false;             // this wake-up does not go out: the next request asks again
  harness.server.send("dev1", read(Path{3, 0, 3}), queue_only, [](DownlinkResult) {});
  EXPECT_EQ(woken.size(), 2u);
  gateway_up = true;
  harness.server.send("dev1", read(Path{3, 0, 4}), queue_only, [](DownlinkResult) {});
  harness.server.send("dev1", read(Path{3, 0, 5}), queue_only, [](DownlinkResult) {});
  EXPECT_EQ(woken.size(), 3u);
}

TEST_F(ServerTest, ObserveDeliversNotificationsUntilCancelled) {
  FakeClient client(net, 100);
  client.answer = [&](const Message& req) { return device_answer(harness.models, req); };
  ASSERT_EQ(client.register_with({"ep=dev1"})->code, codes::kCreated);
  DownlinkRequest r = request(Operation::kObserve, Path{3, 0, 9});
  r.attributes = {"pmin=10"};
  auto result = send_and_wait("dev1", r);
  ASSERT_EQ(result.status, DownlinkResult::Status::kAnswered);
  ASSERT_FALSE(result.observation_id.empty());
  EXPECT_EQ(client.received.at(0).queries(), std::vector<std::string>{"pmin=10"});
  auto stored = store.load_observations().value();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].paths, std::vector<Path>{Path({3, 0, 9})});
  EXPECT_EQ(stored[0].token, client.received.at(0).token);

  Message n;
  n.code = codes::kContent;
  n.set_content_format(static_cast<std::uint16_t>(ContentFormat::kText));
  n.payload = to_bytes("42");
  ASSERT_TRUE(client.notify(0, n));
  auto notes = harness.events_of(ServerEvent::Kind::kNotification);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].observation_id, result.observation_id);
  EXPECT_EQ(*notes[0].content->content.find_value(Path{3, 0, 9}), lwm2m::Value(std::int64_t{42}));

  EXPECT_TRUE(harness.server.cancel_observation(result.observation_id, false));
  EXPECT_TRUE(store.load_observations()->empty());
  client.notify(0, n);  // answered by RST now; no event
  EXPECT_EQ(harness.events_of(ServerEvent::Kind::kNotification).size(), 1u);
}

// Composite answers default to what the client advertised: a client listing only SenML JSON
// (ct=110) gets Accept 110 and its path list in SenML-ETCH JSON, not CBOR it cannot read.
TEST_F(ServerTest, CompositeOperationsUseTheFormatTheClientListed) {
  FakeClient client(net, 100);
  client.answer = [&](const Message& req) {
    Message res;
    res.code = codes::kContent;
    res.set_content_format(110);
    res.payload = to_bytes(R"([{"bn":"/3/0/","n":"9","v":87}])");
    if (req.observe() == 0u) res.set_observe(1);
    return res;
  };
  ASSERT_EQ(
      client.register_with({"ep=dev1", "lwm2m=1.1"}, "</>;rt=\"oma.lwm2m\";ct=110,</1/0>,</3/0>")
          ->code,
      codes::kCreated);
  DownlinkRequest read = request(Operation::kReadComposite, Path{});
  read.paths = {Path{3, 0, 9}, Path{3, 0, 0}};
  ASSERT_EQ(send_and_wait("dev1", read).status, DownlinkResult::Status::kAnswered);
  const Message& fetch = client.received.at(0);
  EXPECT_EQ(fetch.options.get_uint(coap::option::kAccept), 110u);
  EXPECT_EQ(fetch.content_format(), 320u);  // SenML-ETCH JSON
  // Observe-Composite carries the attributes given to it.
  DownlinkRequest observe = request(Operation::kObserveComposite, Path{});
  observe.paths = {Path{3, 0, 9}};
  observe.attributes = {"pmin=5", "pmax=60"};
  auto result = send_and_wait("dev1", observe);
  ASSERT_EQ(result.status, DownlinkResult::Status::kAnswered);
  const Message& obs = client.received.at(1);
  EXPECT_EQ(obs.queries(), (std::vector<std::string>{"pmin=5", "pmax=60"}));
  EXPECT_EQ(obs.options.get_uint(coap::option::kAccept), 110u);
}

// RFC 7641 3.6: an active cancel reports what the client answered, not just "cancelled".
TEST_F(ServerTest, ActiveCancelReportsTheClientsAnswer) {
  FakeClient client(net, 100);
  client.answer = [&](const Message& req) {
    if (req.observe() == 1u) {  // this client had forgotten the observation
      Message res;
      res.code = codes::kNotFound;
      return res;
    }
    return device_answer(harness.models, req);
  };
  ASSERT_EQ(client.register_with({"ep=dev1"})->code, codes::kCreated);
  auto observed = send_and_wait("dev1", request(Operation::kObserve, Path{3, 0, 9}));
  ASSERT_FALSE(observed.observation_id.empty());
  std::optional<DownlinkResult> cancel;
  ASSERT_TRUE(harness.server.cancel_observation(observed.observation_id, true,
                                                [&](DownlinkResult r) { cancel = std::move(r); }));
  EXPECT_TRUE(harness.server.observations("dev1").empty());  // no longer listening
  net.run_until([&] { return cancel.has_value(); }, Duration{60'000});
  ASSERT_TRUE(cancel.has_value());
  ASSERT_EQ(cancel->status, DownlinkResult::Status::kAnswered);
  EXPECT_EQ(cancel->response->code, codes::kNotFound);
  const auto ended = harness.events_of(ServerEvent::Kind::kObservationEnded);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_NE(ended[0].detail.find("4.04"), std::string::npos) << ended[0].detail;
}

TEST_F(ServerTest, ObservationsEndWithTheRegistration) {
  FakeClient client(net, 100);
  client.answer = [&](const Message& req) { return device_answer(harness.models, req); };
  ASSERT_EQ(client.register_with({"ep=dev1"})->code, codes::kCreated);
  ASSERT_FALSE(
      send_and_wait("dev1", request(Operation::kObserve, Path{3, 0, 9})).observation_id.empty());
  ASSERT_EQ(client.register_with({"ep=dev1"})->code, codes::kCreated);  // re-register
  EXPECT_TRUE(harness.server.observations("dev1").empty());
  EXPECT_TRUE(store.load_observations()->empty());
}

TEST_F(ServerTest, SendIsAcceptedForRegisteredObjectsOnly) {
  FakeClient client(net, 100);
  auto send = [&](const std::string& json) {
    Message m = coap::make_request(codes::kPost, "/dp");
    m.set_content_format(coap::content_format::kSenmlJson);
    m.payload = to_bytes(json);
    return client.exchange(std::move(m));
  };
  EXPECT_EQ(send(R"([{"n":"/3303/0/5700","v":21.5}])")->code, codes::kBadRequest);  // unknown
  ASSERT_EQ(client.register_with({"ep=dev1"})->code, codes::kCreated);
  EXPECT_EQ(send(R"([{"n":"/3303/0/5700","v":21.5}])")->code, codes::kChanged);
  EXPECT_EQ(send(R"([{"n":"/4/0/0","v":1}])")->code, codes::kNotFound);
  EXPECT_EQ(send(R"([{"n":)")->code, codes::kBadRequest);
  auto sends = harness.events_of(ServerEvent::Kind::kSend);
  ASSERT_EQ(sends.size(), 1u);
  EXPECT_EQ(sends[0].content->records.at(0).path, Path({3303, 0, 5700}));
}

// Two endpoints registered from one address (a gateway): the second speaks for it. Ending
// the first must not forget who is at the address.
TEST_F(ServerTest, EndingAnotherRegistrationAtTheSameAddressKeepsTheLatestClientKnown) {
  FakeClient client(net, 100);
  ASSERT_EQ(client.register_with({"ep=first"})->code, codes::kCreated);
  const std::string first = client.location;
  ASSERT_EQ(client.register_with({"ep=second"})->code, codes::kCreated);
  ASSERT_EQ(client.exchange(coap::make_request(codes::kDelete, first))->code, codes::kDeleted);
  Message m = coap::make_request(codes::kPost, "/dp");
  m.set_content_format(coap::content_format::kSenmlJson);
  m.payload = to_bytes(R"([{"n":"/3303/0/5700","v":21.5}])");
  EXPECT_EQ(client.exchange(std::move(m))->code, codes::kChanged);
  auto sends = harness.events_of(ServerEvent::Kind::kSend);
  ASSERT_EQ(sends.size(), 1u);
  EXPECT_EQ(sends[0].endpoint, "second");
}

// A datagram transport forgets addresses nobody holds: a registration holds its client's for
// as long as it lasts, moves the hold when the client moves, and lets go when it ends.
TEST_F(ServerTest, ARegistrationHoldsItsClientsAddressWhileItLasts) {
  auto& holds = harness.transport.holds;
  FakeClient gateway(net, 100);
  ASSERT_EQ(gateway.register_with({"ep=first"})->code, codes::kCreated);
  const std::string first = gateway.location;
  ASSERT_EQ(gateway.register_with({"ep=second", "lt=60"})->code, codes::kCreated);
  EXPECT_EQ(holds, (std::map<coap::PeerId, int>{{100, 2}}));
  ASSERT_EQ(gateway.exchange(coap::make_request(codes::kPost, first))->code, codes::kChanged);
  EXPECT_EQ(holds, (std::map<coap::PeerId, int>{{100, 2}})) << "an Update holds nothing more";
  // "first" moves to another address (a NAT rebinding): its hold moves with it.
  FakeClient moved(net, 101);
  ASSERT_EQ(moved.exchange(coap::make_request(codes::kPost, first))->code, codes::kChanged);
  EXPECT_EQ(holds, (std::map<coap::PeerId, int>{{100, 1}, {101, 1}}));
  ASSERT_EQ(moved.exchange(coap::make_request(codes::kDelete, first))->code, codes::kDeleted);
  EXPECT_EQ(holds, (std::map<coap::PeerId, int>{{100, 1}}));
  // Expiry lets go too.
  net.run_for(Duration{120'000});
  EXPECT_EQ(harness.events_of(ServerEvent::Kind::kExpired).size(), 1u);
  EXPECT_TRUE(holds.empty());
}

// Back-pressure: a full server refuses new endpoints with 5.03 and a jittered Max-Age (RFC
// 7252 5.9.3.4), while those it holds still register again and update.
TEST(ServerBackPressureTest, AFullServerRefusesNewEndpointsWith503AndMaxAge) {
  SimNetwork net;
  MemoryStore store;
  ServerConfig config;
  config.max_registrations = 2;
  config.full_retry_after = Duration{60'000};
  ServerHarness harness(net, store, config);
  FakeClient a(net, 100), b(net, 101), c(net, 102);
  ASSERT_EQ(a.register_with({"ep=a"})->code, codes::kCreated);
  ASSERT_EQ(b.register_with({"ep=b"})->code, codes::kCreated);
  std::set<std::uint64_t> max_ages;
  for (int i = 0; i < 5; ++i) {
    auto refused = c.register_with({"ep=c"});
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->code, codes::kServiceUnavailable);
    const auto max_age = refused->options.get_uint(coap::option::kMaxAge);
    ASSERT_TRUE(max_age.has_value());
    EXPECT_GE(*max_age, 30u);
    EXPECT_LE(*max_age, 90u);
    max_ages.insert(*max_age);
  }
  EXPECT_GT(max_ages.size(), 1u) << "jittered, so a refused fleet does not return at once";
  EXPECT_EQ(harness.server.metrics().refused_full, 5u);
  EXPECT_EQ(harness.server.registration_count(), 2u);
  // Those it holds are served.
  ASSERT_EQ(a.update()->code, codes::kChanged);
  ASSERT_EQ(b.register_with({"ep=b", "lt=300"})->code, codes::kCreated);
  // Room again after a De-register.
  ASSERT_EQ(a.exchange(coap::make_request(codes::kDelete, a.location))->code, codes::kDeleted);
  EXPECT_EQ(c.register_with({"ep=c"})->code, codes::kCreated);
}

// --workers: the cap counts every worker's registrations (ServerConfig::fleet_size), so a
// worker holding none is full when the others hold the cap.
TEST(ServerBackPressureTest, TheCapCountsTheWholeFleet) {
  SimNetwork net;
  MemoryStore store;
  ServerConfig config;
  config.max_registrations = 3;
  std::size_t elsewhere = 2;  // held by the other workers
  ServerConfig with_fleet = config;
  ServerHarness* self = nullptr;
  with_fleet.fleet_size = [&] { return elsewhere + self->server.registration_count(); };
  ServerHarness harness(net, store, with_fleet);
  self = &harness;
  FakeClient a(net, 100), b(net, 101);
  ASSERT_EQ(a.register_with({"ep=a"})->code, codes::kCreated);
  EXPECT_EQ(harness.server.held(), 3u);
  EXPECT_EQ(b.register_with({"ep=b"})->code, codes::kServiceUnavailable);
  ASSERT_EQ(a.register_with({"ep=a", "lt=300"})->code, codes::kCreated);  // adds nothing
  elsewhere = 1;  // another worker's client left
  EXPECT_EQ(b.register_with({"ep=b"})->code, codes::kCreated);
}

// A client's queue is bounded: beyond max_queued_per_client requests, send() answers kBusy
// at once instead of holding more.
TEST(ServerBackPressureTest, ASleepingClientsQueueIsBounded) {
  SimNetwork net;
  MemoryStore store;
  ServerConfig config;
  config.awake_window = Duration{20'000};
  config.max_queued_per_client = 3;
  ServerHarness harness(net, store, config);
  FakeClient client(net, 100);
  ASSERT_EQ(client.register_with({"ep=dev1", "lwm2m=1.1", "Q"})->code, codes::kCreated);
  net.run_for(Duration{21'000});  // asleep
  ASSERT_FALSE(harness.server.is_awake("dev1"));
  DownlinkOptions queue_only;
  queue_only.return_when_queued = true;
  std::vector<DownlinkResult::Status> got;
  for (int i = 0; i < 5; ++i) {
    DownlinkRequest r;
    r.op = Operation::kRead;
    r.path = Path{3, 0, 0};
    harness.server.send("dev1", r, queue_only, [&](DownlinkResult d) { got.push_back(d.status); });
  }
  using S = DownlinkResult::Status;
  EXPECT_EQ(got, (std::vector<S>{S::kQueued, S::kQueued, S::kQueued, S::kBusy, S::kBusy}));
  EXPECT_EQ(harness.server.total_queue_depth(), 3u);
  EXPECT_EQ((harness.server.metrics().requests.at({"read", "busy"})), 2u);
}

// The transport gave the client's address up before the registration could hold it (its
// answer waited for the store while a spray filled the table): the server does not keep a
// dead peer; requests wait, and the client's next Update binds its address again.
TEST_F(ServerTest, APeerTheTransportGaveUpIsNotKeptAndTheNextUpdateBindsItAgain) {
  FakeClient client(net, 100);
  client.answer = [&](const Message& req) { return device_answer(harness.models, req); };
  harness.transport.forgets = true;
  ASSERT_EQ(client.register_with({"ep=dev1"})->code, codes::kCreated);
  EXPECT_TRUE(harness.transport.holds.empty());
  std::optional<DownlinkResult> got;
  harness.server.send("dev1", read(Path{3, 0, 0}), {},
                      [&](DownlinkResult d) { got = std::move(d); });
  net.run_for(Duration{5'000});
  EXPECT_FALSE(got.has_value());
  EXPECT_TRUE(client.received.empty()) << "nothing goes to a peer the transport forgot";
  harness.transport.forgets = false;
  ASSERT_EQ(client.update()->code, codes::kChanged);
  net.run_until([&] { return got.has_value(); }, Duration{10'000});
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->status, DownlinkResult::Status::kAnswered);
  EXPECT_EQ(harness.transport.holds, (std::map<coap::PeerId, int>{{100, 1}}));
}

TEST(ServerRestartTest, RegistrationsAndObservationsSurviveARestart) {
  SimNetwork net;
  MemoryStore store;
  FakeClient client(net, 100);
  std::string observation;
  {
    ServerHarness first(net, store);
    client.answer = [&](const Message& req) {
      Message res;
      res.code = codes::kContent;
      res.set_content_format(0);
      res.payload = to_bytes("1");
      if (req.observe() == 0u) res.set_observe(1);
      return res;
    };
    ASSERT_EQ(client.register_with({"ep=dev1", "lt=600"})->code, codes::kCreated);
    DownlinkRequest r;
    r.op = Operation::kObserve;
    r.path = Path{3, 0, 9};
    std::optional<DownlinkResult> got;
    first.server.send("dev1", r, {}, [&](DownlinkResult d) { got = std::move(d); });
    net.run_until([&] { return got.has_value(); }, Duration{10'000});
    ASSERT_TRUE(got && !got->observation_id.empty());
    observation = got->observation_id;
    first.server.shutdown();
  }
  net.run_for(Duration{30'000});
  ServerHarness second(net, store);
  ASSERT_TRUE(second.server.restore().ok());
  ASSERT_NE(second.server.find("dev1"), nullptr);
  EXPECT_EQ("/rd/" + second.server.find("dev1")->id, client.location);
  ASSERT_EQ(second.server.observations("dev1").size(), 1u);

  // The client's next notification reaches the new server under the same observation.
  Message n;
  n.code = codes::kContent;
  n.set_content_format(0);
  n.payload = to_bytes("77");
  ASSERT_TRUE(client.notify(0, n));
  auto notes = second.events_of(ServerEvent::Kind::kNotification);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].observation_id, observation);
  // And its registration still answers to Update at the old location.
  EXPECT_EQ(client.update()->code, codes::kChanged);
}

TEST(ServerRestartTest, RegistrationsThatExpiredWhileDownAreDropped) {
  SimNetwork net;
  MemoryStore store;
  FakeClient client(net, 100);
  {
    ServerHarness first(net, store);
    ASSERT_EQ(client.register_with({"ep=dev1", "lt=60"})->code, codes::kCreated);
  }
  net.run_for(Duration{61'000});
  ServerHarness second(net, store);
  ASSERT_TRUE(second.server.restore().ok());
  EXPECT_EQ(second.server.find("dev1"), nullptr);
  EXPECT_TRUE(store.load_registrations()->empty());
  EXPECT_EQ(second.events_of(ServerEvent::Kind::kExpired).size(), 1u);
}

}  // namespace
}  // namespace tether::server::testing
