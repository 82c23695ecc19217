// Our client against our server and bootstrap server on the simulated network and virtual
// time: bootstrap, registration, the Device Management operations and their codes (Transport
// TS Tables 6.7-1 and 6.7-3), observations with attributes, Send, queue mode and retries.
#include <gtest/gtest.h>

#include "client/client_fixture.hpp"
#include "lwm2m/format/codec.hpp"

namespace tether::client {
namespace {

using coap::Message;
namespace codes = coap::codes;
using lwm2m::DownlinkRequest;
using lwm2m::Operation;
using lwm2m::format::ContentFormat;
using server::DownlinkResult;
using server::ServerEvent;
using namespace testing;

TEST(Client, BootstrapsRegistersIsManagedReportsAndDeregisters) {
  Network n;
  ServerHarness server(n.net, n.store);
  BootstrapHarness bs(n.net);
  bs.configure("dev1", R"({
    "security": {"1": {"uri": "coap://10.0.0.1:1", "bootstrap": false, "mode": "nosec",
                       "shortServerId": 101}},
    "servers": {"1": {"shortServerId": 101, "lifetime": 300, "binding": "U"}}})");
  ClientHarness c(n.net, config_for("dev1"));
  c.add_bootstrap_server(kBootstrapUri);
  bool rebooted = false;
  c.device.on_reboot([&] { rebooted = true; });

  ASSERT_TRUE(start_and_register(n, server, c, "dev1"));
  EXPECT_EQ(c.count(ClientEvent::Kind::kBootstrapped), 1u);
  EXPECT_EQ(c.client.state(101), Lwm2mClient::State::kRegistered);
  // Core TS 6.2.1: the Security object is never registered.
  for (const auto& o : server.server.find("dev1")->objects->objects) EXPECT_NE(o.id, 0);

  // Read, Write, Execute.
  auto read = call(n.net, server.server, "dev1", op(Operation::kRead, Path{3, 0}));
  ASSERT_EQ(code_of(read), codes::kContent);
  EXPECT_EQ(*read.response->content.find_value(Path{3, 0, 0}), Value("Tether"));
  auto w = op(Operation::kWrite, Path{3, 0, 14});
  w.format = ContentFormat::kTlv;
  (void)w.content.set(Path{3, 0, 14}, Value("+02:00"));
  EXPECT_EQ(code_of(call(n.net, server.server, "dev1", w)), codes::kChanged);
  EXPECT_EQ(c.data.value(Path{3, 0, 14}), Value("+02:00"));
  EXPECT_EQ(code_of(call(n.net, server.server, "dev1", op(Operation::kExecute, Path{3, 0, 4}))),
            codes::kChanged);
  EXPECT_TRUE(rebooted);

  // Create assigns an instance ID; the new instance reaches the server by an Update.
  auto create = op(Operation::kCreate, Path{3311});
  create.format = ContentFormat::kTlv;
  (void)create.content.set(Path{3311, lwm2m::Path::kUnassigned, 5850}, Value(true));
  auto created = call(n.net, server.server, "dev1", create);
  ASSERT_EQ(code_of(created), codes::kCreated);
  EXPECT_EQ(created.response->created, (Path{3311, 0}));
  n.net.run_for(Duration{1'000});
  auto has_light = [&] {
    for (const auto& o : server.server.find("dev1")->objects->objects) {
      if (o.id == 3311) return !o.instances.empty();
    }
    return false;
  };
  EXPECT_TRUE(has_light());
  EXPECT_EQ(code_of(call(n.net, server.server, "dev1", op(Operation::kDelete, Path{3311, 0}))),
            codes::kDeleted);
  n.net.run_for(Duration{1'000});
  EXPECT_FALSE(has_light());

  // Observe the temperature with gt=25: only crossings are reported.
  auto observe = op(Operation::kObserve, Path{3303, 0, 5700});
  observe.attributes = {"gt=25"};
  ASSERT_EQ(code_of(call(n.net, server.server, "dev1", observe)), codes::kContent);
  const auto before = server_events(server, ServerEvent::Kind::kNotification);
  c.temperature->tick(1.0);  // 22.5: no crossing
  n.net.run_for(Duration{1'000});
  EXPECT_EQ(server_events(server, ServerEvent::Kind::kNotification), before);
  c.temperature->tick(5.0);  // 27.5: crosses 25
  n.net.run_for(Duration{1'000});
  EXPECT_EQ(server_events(server, ServerEvent::Kind::kNotification), before + 1);

  // Send.
  std::optional<Result<lwm2m::Status>> sent;
  c.client.send(0, {Path{3303, 0, 5700}}, [&](Result<lwm2m::Status> r) { sent = r; });
  n.net.run_until([&] { return sent.has_value(); }, Duration{10'000});
  ASSERT_TRUE(sent && *sent) << (sent && !*sent ? sent->error().reason : "no answer");
  EXPECT_EQ(**sent, codes::kChanged);
  auto sends = server.events_of(ServerEvent::Kind::kSend);
  ASSERT_EQ(sends.size(), 1u);
  EXPECT_EQ(sends[0].content->records.at(0).value, Value(27.5));

  bool stopped = false;
  c.client.stop([&] { stopped = true; });
  n.net.run_until([&] { return stopped; }, Duration{10'000});
  EXPECT_EQ(server.server.find("dev1"), nullptr);
}

// Stopped while its Register is out, the client does not leave a registration behind to
// expire: it De-registers as soon as the Register is answered, then reports done.
TEST(Client, StoppedWhileRegisteringDeregistersOnceAnswered) {
  Network n;
  ServerHarness server(n.net, n.store);
  ClientHarness c(n.net, config_for("dev1"));
  c.add_server(101, kServerUri);
  n.net.set_latency(Duration{200});
  c.client.start();
  n.net.run_until([&] { return c.client.state(101) == Lwm2mClient::State::kRegistering; },
                  Duration{1'000});
  ASSERT_EQ(c.client.state(101), Lwm2mClient::State::kRegistering);
  bool stopped = false;
  c.client.stop([&] { stopped = true; });
  EXPECT_FALSE(stopped);
  n.net.run_until([&] { return stopped; }, Duration{30'000});
  EXPECT_TRUE(stopped);
  EXPECT_EQ(c.count(ClientEvent::Kind::kDeregistered), 1u);
  EXPECT_EQ(server.server.find("dev1"), nullptr);
  EXPECT_EQ(c.client.state(101), Lwm2mClient::State::kDeregistered);
}

// A raw "server" at the server's address: it accepts any Register and lets a test send
// arbitrary CoAP requests to the client, including ones our server would never build.
struct RawServer {
  RawServer(SimNetwork& network, coap::PeerId at) : net(network), node(coap::EndpointConfig{}, 3) {
    net.add(at, node);
    node.endpoint.set_request_handler([this](coap::PeerId, const Message& m, coap::Responder r) {
      received.push_back(m);
      Message answer;
      answer.token = m.token;
      answer.code = m.code == codes::kPost && m.path() == "/rd" ? codes::kCreated
                    : m.code == codes::kPost                    ? codes::kChanged
                                                                : codes::kDeleted;
      if (answer.code == codes::kCreated) answer.options.add(coap::option::kLocationPath, "rd");
      if (answer.code == codes::kCreated) answer.options.add(coap::option::kLocationPath, "x1");
      r.respond(std::move(answer), net.now());
    });
  }
  Message ask(Message m) {
    std::optional<Result<Message>> got;
    node.endpoint.request(
        kClientAddress, std::move(m), [&](Result<Message> r) { got = std::move(r); }, net.now());
    net.run_until([&] { return got.has_value(); }, Duration{10'000});
    return got && *got ? **got : Message{};
  }
  SimNetwork& net;
  coap::sim::Node node;
  std::vector<Message> received;
};

Message req(coap::Code method, const std::string& path) {
  return coap::make_request(method, path);
}

// The registry package does not say which resources are writable: a client serving such
// an object would let servers write its sensor values. Its XML makes it servable.
TEST(Client, ServesRegistryObjectsOnlyFromTheirXml) {
  auto registry = lwm2m::model::ObjectRegistry::with_builtin();
  DataModel data(registry);
  auto refused = data.add(std::make_unique<DataObject>(3304));
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().reason.find("--models"), std::string::npos);
  ASSERT_TRUE(registry.load_xml(
      "<LWM2M><Object ObjectType=\"MODefinition\"><Name>Humidity</Name><ObjectID>3304"
      "</ObjectID><ObjectURN>urn:oma:lwm2m:ext:3304:1.1</ObjectURN><LWM2MVersion>1.0"
      "</LWM2MVersion><ObjectVersion>1.1</ObjectVersion><MultipleInstances>Multiple"
      "</MultipleInstances><Mandatory>Optional</Mandatory><Resources><Item ID=\"5700\"><Name>"
      "Sensor Value</Name><Operations>R</Operations><MultipleInstances>Single"
      "</MultipleInstances><Mandatory>Mandatory</Mandatory><Type>Float</Type></Item>"
      "</Resources></Object></LWM2M>"));
  EXPECT_TRUE(data.add(std::make_unique<DataObject>(3304)));
  EXPECT_FALSE(data.registry().object(3304)->resource(5700)->writable());
}

TEST(Client, AnswersTheCodesOfTable673) {
  Network n;
  RawServer raw(n.net, 1);
  ClientHarness c(n.net, config_for("codes"));
  c.add_server(101, kServerUri);
  c.client.start();
  n.net.run_for(Duration{2'000});
  ASSERT_EQ(c.client.state(101), Lwm2mClient::State::kRegistered);

  EXPECT_EQ(raw.ask(req(codes::kGet, "/3/0/0")).code, codes::kContent);
  EXPECT_EQ(raw.ask(req(codes::kGet, "/3/7")).code, codes::kNotFound);
  EXPECT_EQ(raw.ask(req(codes::kGet, "/999")).code, codes::kNotFound);
  EXPECT_EQ(raw.ask(req(codes::kGet, "/3/0/4")).code, codes::kMethodNotAllowed);  // executable
  EXPECT_EQ(raw.ask(req(codes::kGet, "/0/0")).code, codes::kUnauthorized);        // Security
  Message accept = req(codes::kGet, "/3/0");
  accept.options.set_uint(coap::option::kAccept, 9999);
  EXPECT_EQ(raw.ask(accept).code, codes::kNotAcceptable);
  Message text_instance = req(codes::kGet, "/3/0");
  text_instance.options.set_uint(coap::option::kAccept, 0);  // text cannot carry an instance
  EXPECT_EQ(raw.ask(text_instance).code, codes::kNotAcceptable);

  Message write = req(codes::kPut, "/3/0/0");  // Manufacturer is read-only
  write.set_content_format(0);
  write.payload = to_bytes("x");
  EXPECT_EQ(raw.ask(write).code, codes::kMethodNotAllowed);
  Message odd = req(codes::kPut, "/3/0/14");
  odd.set_content_format(12345);
  odd.payload = to_bytes("x");
  EXPECT_EQ(raw.ask(odd).code, codes::kUnsupportedContentFormat);
  Message bad = req(codes::kPut, "/3/0/14");
  bad.set_content_format(static_cast<std::uint16_t>(ContentFormat::kTlv));
  bad.payload = {0xff};
  EXPECT_EQ(raw.ask(bad).code, codes::kBadRequest);

  EXPECT_EQ(raw.ask(req(codes::kPost, "/3/0/0")).code, codes::kMethodNotAllowed);  // not E
  EXPECT_EQ(raw.ask(req(codes::kPost, "/3/5/4")).code, codes::kNotFound);
  EXPECT_EQ(raw.ask(req(codes::kDelete, "/3/0")).code, codes::kMethodNotAllowed);
  EXPECT_EQ(raw.ask(req(codes::kDelete, "/3311/4")).code, codes::kNotFound);

  Message attrs = req(codes::kPut, "/3303/0/5700");
  attrs.add_query("pmin=10");
  attrs.add_query("pmax=5");  // pmin > pmax
  EXPECT_EQ(raw.ask(attrs).code, codes::kBadRequest);
  Message good = req(codes::kPut, "/3303/0/5700");
  good.add_query("pmin=10");
  EXPECT_EQ(raw.ask(good).code, codes::kChanged);
  Message discover = req(codes::kGet, "/3303/0");
  discover.options.set_uint(coap::option::kAccept, coap::content_format::kLinkFormat);
  const Message links = raw.ask(discover);
  EXPECT_EQ(links.code, codes::kContent);
  EXPECT_NE(std::string(links.payload.begin(), links.payload.end()).find("</3303/0/5700>;pmin=10"),
            std::string::npos);

  // Core TS 5.4.2: every instantiated resource, executable ones included.
  auto discover_text = [&](const std::string& path) {
    Message d = req(codes::kGet, path);
    d.options.set_uint(coap::option::kAccept, coap::content_format::kLinkFormat);
    const Message m = raw.ask(d);
    return std::string(m.payload.begin(), m.payload.end());
  };
  const std::string device_links = discover_text("/3/0");
  for (const char* link : {"</3/0/4>", "</3/0/5>", "</3/0/0>"}) {
    EXPECT_NE(device_links.find(link), std::string::npos) << link << " in " << device_links;
  }
  const std::string server_links = discover_text("/1/0");
  for (const char* link : {"</1/0/8>", "</1/0/4>", "</1/0/9>"}) {
    EXPECT_NE(server_links.find(link), std::string::npos) << link << " in " << server_links;
  }
  EXPECT_NE(discover_text("/3").find("</3/0/4>"), std::string::npos);

  // Create with a Content-Format but a missing mandatory resource (5850 On/Off).
  Message create = req(codes::kPost, "/3311");
  create.set_content_format(static_cast<std::uint16_t>(ContentFormat::kSenmlJson));
  create.payload = to_bytes(R"([{"n":"/3311/0/5851","v":10}])");
  EXPECT_EQ(raw.ask(create).code, codes::kBadRequest);
}

// A client speaks one version: lwm2m= of Register and of Bootstrap-Discover, and the object
// versions it names, all follow --lwm2m (objects made for a newer LwM2M are not claimed).
TEST(Client, ClaimsOneLwm2mVersionEverywhere) {
  for (const std::string version : {"1.0", "1.1"}) {
    Network n;
    RawServer raw(n.net, 1);
    ClientConfig config = config_for("v" + version);
    config.version = version;
    ClientHarness c(n.net, config);
    c.add_server(101, kServerUri);
    c.client.start();
    n.net.run_for(Duration{2'000});
    ASSERT_FALSE(raw.received.empty());
    const Message& reg = raw.received.front();
    const auto queries = reg.options.strings(coap::option::kUriQuery);
    EXPECT_NE(std::find(queries.begin(), queries.end(), "lwm2m=" + version), queries.end());
    const std::string links(reg.payload.begin(), reg.payload.end());
    if (version == "1.1") {
      EXPECT_NE(links.find("</1>;ver=1.1"), std::string::npos) << links;  // not 1.2
    } else {
      EXPECT_EQ(links.find("</1>;ver="), std::string::npos) << links;  // 1.0 objects only
      EXPECT_EQ(links.find("</3>;ver="), std::string::npos) << links;
    }
    Message discover = req(codes::kGet, "/1");
    discover.options.set_uint(coap::option::kAccept, coap::content_format::kLinkFormat);
    const Message d = raw.ask(discover);
    const std::string text(d.payload.begin(), d.payload.end());
    EXPECT_EQ(text.find(";ver=1.2"), std::string::npos) << text;
    EXPECT_EQ(c.data.lwm2m_version(), version);
  }
}

// Transport TS Table 6.4.4-1 and Core TS 5.4.5: what a POST to a resource means.
TEST(Client, PostWithABodyToAMultipleResourceIsAPartialUpdateAndExecuteChecksArguments) {
  Network n;
  RawServer raw(n.net, 1);
  ClientHarness c(n.net, config_for("post"));
  bool rebooted = false;
  c.device.on_reboot([&] { rebooted = true; });
  c.add_server(101, kServerUri);
  c.client.start();
  n.net.run_for(Duration{2'000});
  ASSERT_EQ(c.client.state(101), Lwm2mClient::State::kRegistered);

  // /1/0/25 Supported Server Versions is a multiple-instance resource.
  Message update = req(codes::kPost, "/1/0/25");
  update.set_content_format(static_cast<std::uint16_t>(ContentFormat::kSenmlJson));
  update.payload = to_bytes(R"([{"bn":"/1/0/25/","n":"0","vs":"1.1"},{"n":"1","vs":"1.2"}])");
  EXPECT_EQ(raw.ask(update).code, codes::kChanged);
  EXPECT_EQ(*c.data.value(Path{1, 0, 25, 1}), Value("1.2"));
  Message more = req(codes::kPost, "/1/0/25");  // merged, not replaced
  more.set_content_format(static_cast<std::uint16_t>(ContentFormat::kSenmlJson));
  more.payload = to_bytes(R"([{"n":"/1/0/25/2","vs":"1.0"}])");
  EXPECT_EQ(raw.ask(more).code, codes::kChanged);
  EXPECT_TRUE(c.data.value(Path{1, 0, 25, 0}).has_value());
  EXPECT_EQ(*c.data.value(Path{1, 0, 25, 2}), Value("1.0"));

  for (const char* bad : {"zz", "0,", "1='open", "2=x", "3='it''s'", "0,0"}) {
    Message reboot = req(codes::kPost, "/3/0/4");
    reboot.payload = to_bytes(bad);
    EXPECT_EQ(raw.ask(reboot).code, codes::kBadRequest) << bad;
  }
  EXPECT_FALSE(rebooted);
  Message good = req(codes::kPost, "/3/0/4");
  good.payload = to_bytes("0,1='now'");
  EXPECT_EQ(raw.ask(good).code, codes::kChanged);
  EXPECT_TRUE(rebooted);
}

// Core TS 6.2.1.1: a Binding of "UQ" (1.0 style) is sent as b=U&Q from 1.1 on and as b=UQ
// to a 1.0 server; carriers without a transport ("S" without SMS) are not claimed.
TEST(Client, BindingLettersFollowTheVersionAndTheTransports) {
  for (const std::string version : {"1.0", "1.1", "1.2"}) {
    Network n;
    ServerHarness server(n.net, n.store);
    ClientConfig config = config_for("b" + version);
    config.version = version;
    ClientHarness c(n.net, config);
    c.add_server(101, kServerUri, 3600);
    (void)c.data.put(Path{1, 0, 7}, Value("UQS"));
    ASSERT_TRUE(start_and_register(n, server, c, "b" + version)) << version;
    const auto* r = server.server.find("b" + version);
    EXPECT_EQ(r->binding, "U") << version;
    EXPECT_TRUE(r->queue_mode) << version;
    std::vector<std::string> queries;
    for (const auto& p : n.net.sent(kClientAddress, coap::sim::is_request)) {
      if (p.message->path() == "/rd") queries = p.message->options.strings(coap::option::kUriQuery);
    }
    auto has = [&](const std::string& q) {
      return std::find(queries.begin(), queries.end(), q) != queries.end();
    };
    if (version == "1.0") {
      EXPECT_TRUE(has("b=UQ") && !has("Q")) << version;
    } else {
      EXPECT_TRUE(has("b=U") && has("Q")) << version;
    }
    // Claimed, so kept: without traffic it sleeps after the awake window.
    n.net.run_for(Duration{100'000});
    EXPECT_TRUE(c.client.asleep(101)) << version;
  }
}

// Core TS 6.2.1.1: a server that answers 4.12 gets the next lower version, at once.
TEST(Client, FallsBackToALowerVersionOn412) {
  Network n;
  RawServer raw(n.net, 1);
  std::vector<std::string> versions;
  raw.node.endpoint.set_request_handler([&](coap::PeerId, const Message& m, coap::Responder r) {
    std::string version;
    for (const auto& q : m.queries()) {
      if (q.starts_with("lwm2m=")) version = q.substr(6);
    }
    versions.push_back(version);
    Message answer;
    answer.token = m.token;
    answer.code = version == "1.0" ? codes::kCreated : codes::kPreconditionFailed;
    if (answer.code == codes::kCreated) answer.options.add(coap::option::kLocationPath, "rd");
    if (answer.code == codes::kCreated) answer.options.add(coap::option::kLocationPath, "a");
    r.respond(std::move(answer), n.net.now());
  });
  ClientHarness c(n.net, config_for("old-server"));
  c.add_server(101, kServerUri);
  c.client.start();
  n.net.run_for(Duration{2'000});
  EXPECT_EQ(versions, (std::vector<std::string>{"1.2", "1.1", "1.0"}));
  EXPECT_EQ(c.client.state(101), Lwm2mClient::State::kRegistered);
  EXPECT_EQ(c.data.lwm2m_version(), "1.0");
  bool logged = false;
  for (const auto& e : c.events) logged |= e.detail.find("retrying with 1.1") != std::string::npos;
  EXPECT_TRUE(logged);
}

TEST(Client, AccessControlSeparatesServers) {
  Network n;
  RawServer first(n.net, 1);
  RawServer second(n.net, 3);
  ClientHarness c(n.net, config_for("acl"));
  c.add_server(101, kServerUri, 300, 0);
  c.add_server(102, "coap://10.0.0.1:3", 300, 1);
  // Server 101 may read and write the temperature; 102 only read it by default entry 0.
  (void)c.data.put(Path{2, 0, 0}, Value(std::int64_t{3303}));
  (void)c.data.put(Path{2, 0, 1}, Value(std::int64_t{0}));
  (void)c.data.put(Path{2, 0, 2, 101}, Value(std::int64_t{3}));
  (void)c.data.put(Path{2, 0, 2, 0}, Value(std::int64_t{1}));
  (void)c.data.put(Path{2, 0, 3}, Value(std::int64_t{101}));
  // 102 may create lights.
  (void)c.data.put(Path{2, 1, 0}, Value(std::int64_t{3311}));
  (void)c.data.put(Path{2, 1, 1}, Value(std::int64_t{65535}));
  (void)c.data.put(Path{2, 1, 2, 102}, Value(std::int64_t{16}));
  (void)c.data.put(Path{2, 1, 3}, Value(std::int64_t{102}));
  c.client.start();
  n.net.run_for(Duration{2'000});
  ASSERT_EQ(c.client.state(102), Lwm2mClient::State::kRegistered);

  Message write = req(codes::kPut, "/3303/0/5750");
  write.set_content_format(0);
  write.payload = to_bytes("boiler");
  EXPECT_EQ(second.ask(write).code, codes::kUnauthorized);
  EXPECT_EQ(first.ask(write).code, codes::kChanged);
  EXPECT_EQ(second.ask(req(codes::kGet, "/3303/0/5750")).code, codes::kContent);
  // No ACL instance for /3/0 and two servers: no rights.
  EXPECT_EQ(second.ask(req(codes::kGet, "/3/0")).code, codes::kUnauthorized);

  Message create = req(codes::kPost, "/3311");
  create.set_content_format(static_cast<std::uint16_t>(ContentFormat::kSenmlJson));
  create.payload = to_bytes(R"([{"n":"/3311/0/5850","vb":true}])");
  EXPECT_EQ(first.ask(create).code, codes::kUnauthorized);
  EXPECT_EQ(second.ask(create).code, codes::kCreated);
  // Core TS E.1.3: the creator owns the new instance; the other server has no rights to it.
  EXPECT_EQ(second.ask(req(codes::kGet, "/3311/0")).code, codes::kContent);
  EXPECT_EQ(first.ask(req(codes::kGet, "/3311/0")).code, codes::kUnauthorized);
  EXPECT_EQ(c.data.value(Path{2, 2, 3}), Value(std::int64_t{102}));
}

TEST(Client, BootstrapInterfaceCodesDeleteRootAndFinishCheck) {
  Network n;
  RawServer bs(n.net, kBootstrapAddress);
  ServerHarness server(n.net, n.store);
  ClientHarness c(n.net, config_for("bsdev"));
  c.add_bootstrap_server(kBootstrapUri);
  c.client.start();
  n.net.run_for(Duration{1'000});
  ASSERT_TRUE(c.client.bootstrapping());
  ASSERT_FALSE(bs.received.empty());
  EXPECT_EQ(bs.received[0].path(), "/bs");

  EXPECT_EQ(bs.ask(req(codes::kDelete, "/")).code, codes::kDeleted);
  EXPECT_TRUE(c.data.exists(Path{0, 9}));  // the Bootstrap-Server Account stays
  EXPECT_TRUE(c.data.exists(Path{3, 0}));  // and the Device object
  EXPECT_FALSE(c.data.exists(Path{3303, 0}));
  EXPECT_EQ(bs.ask(req(codes::kGet, "/3/0")).code, codes::kMethodNotAllowed);
  EXPECT_EQ(bs.ask(req(codes::kPost, "/bs")).code, codes::kNotAcceptable);  // no account

  Message discover = req(codes::kGet, "/");
  discover.options.set_uint(coap::option::kAccept, coap::content_format::kLinkFormat);
  const Message d = bs.ask(discover);
  const std::string text(d.payload.begin(), d.payload.end());
  EXPECT_EQ(text.rfind("</>;lwm2m=1.2,", 0), 0u) << text;
  EXPECT_NE(text.find("</0/9>;uri=\"coap://10.0.0.1:2\""), std::string::npos) << text;

  // A Bootstrap-Write creates instances that did not exist, regardless of access rights.
  Message w = req(codes::kPut, "/0/1");
  w.set_content_format(static_cast<std::uint16_t>(ContentFormat::kSenmlJson));
  w.payload = to_bytes(R"([{"bn":"/0/1/","n":"0","vs":"coap://10.0.0.1:1"},{"n":"1","vb":false},
                           {"n":"2","v":3},{"n":"10","v":101}])");
  EXPECT_EQ(bs.ask(w).code, codes::kChanged);
  Message s = req(codes::kPut, "/1/1");
  s.set_content_format(static_cast<std::uint16_t>(ContentFormat::kSenmlJson));
  s.payload = to_bytes(R"([{"bn":"/1/1/","n":"0","v":101},{"n":"1","v":120},{"n":"7","vs":"U"}])");
  EXPECT_EQ(bs.ask(s).code, codes::kChanged);
  Message read = req(codes::kGet, "/1/1");
  read.options.set_uint(coap::option::kAccept,
                        static_cast<std::uint16_t>(ContentFormat::kSenmlJson));
  EXPECT_EQ(bs.ask(read).code, codes::kContent);
  EXPECT_EQ(bs.ask(req(codes::kPost, "/bs")).code, codes::kChanged);
  ASSERT_TRUE(
      n.net.run_until([&] { return server.server.find("bsdev") != nullptr; }, Duration{10'000}));
  EXPECT_EQ(server.server.find("bsdev")->lifetime, 120u);
}

TEST(Client, RetriesRegistrationThenFallsBackToBootstrap) {
  Network n;  // nothing listens at the server's address
  ClientHarness c(n.net, config_for("retry"));
  c.add_server(101, kServerUri);
  c.add_bootstrap_server(kBootstrapUri);
  (void)c.data.put(Path{1, 0, 17}, Value(std::int64_t{2}));   // two attempts per sequence
  (void)c.data.put(Path{1, 0, 18}, Value(std::int64_t{30}));  // 30 s, then 60 s
  c.client.start();
  const Instant t0 = n.net.now();
  ASSERT_TRUE(n.net.run_until([&] { return c.count(ClientEvent::Kind::kRegistrationFailed) == 1; },
                              Duration{400'000}));
  const Instant first_failure = n.net.now();
  EXPECT_EQ(c.count(ClientEvent::Kind::kBootstrapStarted), 0u);
  ASSERT_TRUE(n.net.run_until([&] { return c.count(ClientEvent::Kind::kBootstrapStarted) == 1; },
                              Duration{600'000}));
  EXPECT_EQ(c.count(ClientEvent::Kind::kRegistrationFailed), 2u);
  // The second attempt started 30 s after the first failed, and failed once CoAP's
  // retransmissions (randomised, RFC 7252 4.2) gave up, as the first did.
  const auto first = first_failure - t0;
  EXPECT_GT(n.net.now() - first_failure, Duration{30'000} + first * 2 / 3);
  EXPECT_LT(n.net.now() - first_failure, Duration{30'000} + first * 3 / 2);
}

// A full server answers 5.03 with Max-Age (RFC 7252 5.9.3.4): the client comes back no
// sooner than that, even when its own retry timer is shorter.
TEST(Client, AFullServersMaxAgeDelaysTheNextRegisterAttempt) {
  Network n;
  server::ServerConfig config;
  config.max_registrations = 1;
  ServerHarness server(n.net, n.store, config);
  ClientHarness first(n.net, config_for("first"), 201);
  first.add_server(101, kServerUri);
  ASSERT_TRUE(start_and_register(n, server, first, "first"));
  ClientHarness c(n.net, config_for("late"));
  c.add_server(101, kServerUri);
  (void)c.data.put(Path{1, 0, 17}, Value(std::int64_t{3}));  // three attempts
  (void)c.data.put(Path{1, 0, 18}, Value(std::int64_t{1}));  // 1 s, then 2 s
  c.client.start();
  ASSERT_TRUE(n.net.run_until([&] { return c.count(ClientEvent::Kind::kRegistrationFailed) == 1; },
                              Duration{30'000}));
  const Instant refused = n.net.now();
  ASSERT_TRUE(n.net.run_until([&] { return c.count(ClientEvent::Kind::kRegistrationFailed) == 2; },
                              Duration{200'000}));
  EXPECT_GE(n.net.now() - refused, Duration{30'000}) << "Max-Age is at least 30 s";
  EXPECT_LE(n.net.now() - refused, Duration{91'000});
  EXPECT_EQ(server.server.metrics().refused_full, 2u);
}

TEST(Client, UpdatesOnTriggerLifetimeChangeAndBeforeExpiry) {
  Network n;
  ServerHarness server(n.net, n.store);
  ClientHarness c(n.net, config_for("upd"));
  c.add_server(101, kServerUri, 60);
  ASSERT_TRUE(start_and_register(n, server, c, "upd"));
  EXPECT_EQ(call(n.net, server.server, "upd", op(Operation::kExecute, Path{1, 0, 8})).status,
            DownlinkResult::Status::kAnswered);
  n.net.run_for(Duration{1'000});
  EXPECT_EQ(c.count(ClientEvent::Kind::kUpdated), 1u);

  auto w = op(Operation::kWrite, Path{1, 0, 1});
  w.format = ContentFormat::kTlv;
  (void)w.content.set(Path{1, 0, 1}, Value(std::int64_t{200}));
  EXPECT_EQ(code_of(call(n.net, server.server, "upd", w)), codes::kChanged);
  n.net.run_for(Duration{1'000});
  EXPECT_EQ(server.server.find("upd")->lifetime, 200u);

  // Lifetime 200 s: an Update at 107 s keeps the registration alive for ten minutes.
  n.net.run_for(Duration{600'000});
  ASSERT_NE(server.server.find("upd"), nullptr);
  EXPECT_GE(c.count(ClientEvent::Kind::kUpdated), 7u);
}

// Transport TS 6.4.4 examples: pmin/pmax bound the rate; st asks for a step.
TEST(Client, NotificationsFollowPminPmaxAndStep) {
  Network n;
  ServerHarness server(n.net, n.store);
  ClientHarness c(n.net, config_for("attrs"));
  c.add_server(101, kServerUri);
  ASSERT_TRUE(start_and_register(n, server, c, "attrs"));
  auto wa = op(Operation::kWriteAttributes, Path{3303, 0, 5700});
  wa.attributes = {"pmin=10", "pmax=60", "st=1"};
  ASSERT_EQ(code_of(call(n.net, server.server, "attrs", wa)), codes::kChanged);
  ASSERT_EQ(
      code_of(call(n.net, server.server, "attrs", op(Operation::kObserve, Path{3303, 0, 5700}))),
      codes::kContent);
  auto notes = [&] { return server_events(server, ServerEvent::Kind::kNotification); };
  c.temperature->tick(2.0);  // a step, but within pmin: held until 10 s
  n.net.run_for(Duration{5'000});
  EXPECT_EQ(notes(), 0u);
  n.net.run_for(Duration{6'000});
  EXPECT_EQ(notes(), 1u);
  c.temperature->tick(0.5);  // below the step: nothing
  n.net.run_for(Duration{20'000});
  EXPECT_EQ(notes(), 1u);
  n.net.run_for(Duration{40'000});  // pmax: a notification without a change
  EXPECT_EQ(notes(), 2u);
}

TEST(Client, QueueModeSleepsStoresAndFlushesOnWake) {
  Network n;
  ServerHarness server(n.net, n.store);
  ClientConfig config = config_for("sleepy");
  config.queue_mode = true;
  ClientHarness c(n.net, config);
  c.add_server(101, kServerUri, 3600);
  ASSERT_TRUE(start_and_register(n, server, c, "sleepy"));
  EXPECT_TRUE(server.server.find("sleepy")->queue_mode);
  ASSERT_EQ(
      code_of(call(n.net, server.server, "sleepy", op(Operation::kObserve, Path{3303, 0, 5700}))),
      codes::kContent);
  n.net.run_for(Duration{100'000});
  EXPECT_TRUE(c.client.asleep(101));
  const auto updates = c.count(ClientEvent::Kind::kUpdated);
  c.temperature->tick(1.0);
  n.net.run_for(Duration{2'000});
  // The change woke the client: an Update, then the stored notification.
  EXPECT_EQ(c.count(ClientEvent::Kind::kUpdated), updates + 1);
  EXPECT_EQ(server_events(server, ServerEvent::Kind::kNotification), 1u);
  EXPECT_FALSE(c.client.asleep(101));
}

// Firmware Update (Core TS E.6): a package pushed block-wise, then one pulled from a URI,
// each installed by Execute Update; the state and result follow the state machine.
TEST(Client, FirmwareUpdateByPushAndByPull) {
  Network n;
  ServerHarness server(n.net, n.store);
  // A file server at address 4 holding a 5000-byte package (Block2 on the way out).
  coap::sim::Node files(coap::EndpointConfig{}, 44);
  n.net.add(4, files);
  Bytes image(5000);
  for (std::size_t i = 0; i < image.size(); ++i) image[i] = static_cast<std::uint8_t>(i * 7);
  files.endpoint.set_request_handler([&](coap::PeerId, const Message& m, coap::Responder r) {
    Message answer;
    answer.token = m.token;
    answer.code = m.path() == "/fw.bin" ? codes::kContent : codes::kNotFound;
    if (answer.code == codes::kContent) answer.payload = image;
    r.respond(std::move(answer), n.net.now());
  });
  ClientHarness c(n.net, config_for("fw"));
  c.add_server(101, kServerUri);
  ASSERT_TRUE(start_and_register(n, server, c, "fw"));
  auto state = [&] {
    auto r = call(n.net, server.server, "fw", op(Operation::kRead, Path{5, 0, 3}));
    const auto* v = r.response ? r.response->content.find_value(Path{5, 0, 3}) : nullptr;
    return v != nullptr ? v->as_number().value_or(-1) : -1;
  };
  EXPECT_EQ(state(), 0);

  // Push: 3000 bytes go out in Block1 blocks of 1024.
  Bytes pushed(3000, 0x5a);
  auto w = op(Operation::kWrite, Path{5, 0, 0});
  w.format = ContentFormat::kOpaque;
  (void)w.content.set(Path{5, 0, 0}, Value(pushed));
  ASSERT_EQ(code_of(call(n.net, server.server, "fw", w)), codes::kChanged);
  EXPECT_EQ(state(), 2);  // Downloaded
  EXPECT_EQ(code_of(call(n.net, server.server, "fw", op(Operation::kExecute, Path{5, 0, 2}))),
            codes::kChanged);
  EXPECT_EQ(c.installed, pushed);
  EXPECT_EQ(state(), 0);
  EXPECT_EQ(c.firmware->result(), FirmwareObject::UpdateResult::kSuccess);
  // Update with nothing downloaded is not allowed.
  EXPECT_EQ(code_of(call(n.net, server.server, "fw", op(Operation::kExecute, Path{5, 0, 2}))),
            codes::kMethodNotAllowed);

  // Pull: the client fetches the URI through its own CoAP endpoint.
  auto pull = op(Operation::kWrite, Path{5, 0, 1});
  pull.format = ContentFormat::kText;
  (void)pull.content.set(Path{5, 0, 1}, Value("coap://10.0.0.1:4/fw.bin"));
  ASSERT_EQ(code_of(call(n.net, server.server, "fw", pull)), codes::kChanged);
  n.net.run_for(Duration{5'000});
  EXPECT_EQ(state(), 2);
  EXPECT_EQ(code_of(call(n.net, server.server, "fw", op(Operation::kExecute, Path{5, 0, 2}))),
            codes::kChanged);
  EXPECT_EQ(c.installed, image);

  // A URI with nothing behind it: back to Idle with result 7 (invalid URI); a coaps URI
  // that no Security instance names: result 9 (tests/client/secure_client_test.cpp pulls
  // over coaps).
  (void)pull.content.set(Path{5, 0, 1}, Value("coap://10.0.0.1:4/missing"));
  ASSERT_EQ(code_of(call(n.net, server.server, "fw", pull)), codes::kChanged);
  n.net.run_for(Duration{5'000});
  EXPECT_EQ(state(), 0);
  EXPECT_EQ(c.firmware->result(), FirmwareObject::UpdateResult::kInvalidUri);
  (void)pull.content.set(Path{5, 0, 1}, Value("coaps://10.0.0.1:4/fw.bin"));
  ASSERT_EQ(code_of(call(n.net, server.server, "fw", pull)), codes::kChanged);
  EXPECT_EQ(c.firmware->result(), FirmwareObject::UpdateResult::kUnsupportedProtocol);
}

// Core TS 5.2.5: when the Bootstrap-Server removes a server's Security instance, what only
// that server could reach goes, and ownership passes to the server with most rights.
TEST(Client, UnbootstrappingRemovesWhatOnlyTheLostServerReached) {
  Network n;
  RawServer first(n.net, 1);
  RawServer second(n.net, 3);
  RawServer bs(n.net, kBootstrapAddress);
  ClientHarness c(n.net, config_for("unbs"));
  c.add_server(101, kServerUri, 300, 0);
  c.add_server(102, "coap://10.0.0.1:3", 300, 1);
  c.add_bootstrap_server(kBootstrapUri);
  (void)c.data.put(Path{3311, 0, 5850}, Value(true));
  (void)c.data.put(Path{3311, 1, 5850}, Value(false));
  // /3311/0: owned by 102, nobody else has an entry. /3311/1: owned by 102, 101 may write.
  (void)c.data.put(Path{2, 0, 0}, Value(std::int64_t{3311}));
  (void)c.data.put(Path{2, 0, 1}, Value(std::int64_t{0}));
  (void)c.data.put(Path{2, 0, 2, 102}, Value(std::int64_t{15}));
  (void)c.data.put(Path{2, 0, 3}, Value(std::int64_t{102}));
  (void)c.data.put(Path{2, 1, 0}, Value(std::int64_t{3311}));
  (void)c.data.put(Path{2, 1, 1}, Value(std::int64_t{1}));
  (void)c.data.put(Path{2, 1, 2, 102}, Value(std::int64_t{15}));
  (void)c.data.put(Path{2, 1, 2, 101}, Value(std::int64_t{3}));
  (void)c.data.put(Path{2, 1, 3}, Value(std::int64_t{102}));
  c.client.start();
  n.net.run_for(Duration{2'000});
  ASSERT_EQ(c.client.state(102), Lwm2mClient::State::kRegistered);

  EXPECT_EQ(bs.ask(req(codes::kDelete, "/0/1")).code, codes::kDeleted);
  EXPECT_EQ(bs.ask(req(codes::kPost, "/bs")).code, codes::kChanged);
  n.net.run_for(Duration{1'000});
  EXPECT_FALSE(c.client.state(102).has_value());
  EXPECT_FALSE(c.data.exists(Path{1, 1}));     // its Server instance
  EXPECT_FALSE(c.data.exists(Path{3311, 0}));  // only it could reach this
  EXPECT_FALSE(c.data.exists(Path{2, 0}));
  EXPECT_TRUE(c.data.exists(Path{3311, 1}));
  EXPECT_EQ(c.data.value(Path{2, 1, 3}), Value(std::int64_t{101}));  // the new owner
  EXPECT_FALSE(c.data.exists(Path{2, 1, 2, 102}));
  EXPECT_EQ(c.client.state(101), Lwm2mClient::State::kRegistered);
}

// Seed 001: a factory Bootstrap-Server Account with non-persistent keys is purged after a
// successful bootstrap, at once or after its Account Timeout; a persistent one stays.
TEST(Client, BootstrapAccountPurgeFollowsSeed001) {
  const std::string config = R"({
    "security": {"1": {"uri": "coap://10.0.0.1:1", "bootstrap": false, "mode": "nosec",
                       "shortServerId": 101}},
    "servers": {"1": {"shortServerId": 101, "lifetime": 300}}})";
  for (int variant = 0; variant < 3; ++variant) {
    SCOPED_TRACE(variant);
    Network n;
    ServerHarness server(n.net, n.store);
    BootstrapHarness bs(n.net);
    bs.configure("purge", config);
    ClientConfig cc = config_for("purge");
    cc.bootstrap_keys_persistent = variant == 0;
    ClientHarness c(n.net, cc);
    c.add_bootstrap_server(kBootstrapUri);
    if (variant == 2) (void)c.data.put(Path{0, 9, 12}, Value(std::int64_t{60}));
    ASSERT_TRUE(start_and_register(n, server, c, "purge"));
    if (variant == 0) {
      n.net.run_for(Duration{120'000});
      EXPECT_TRUE(c.data.bootstrap_account().has_value());
    } else if (variant == 1) {
      EXPECT_FALSE(c.data.bootstrap_account().has_value());
    } else {
      EXPECT_TRUE(c.data.bootstrap_account().has_value());
      n.net.run_for(Duration{61'000});
      EXPECT_FALSE(c.data.bootstrap_account().has_value());
    }
  }
}

// Core TS E.2: Disable de-registers for the Disable Timeout, then the client registers again.
TEST(Client, DisableDeregistersForTheDisableTimeout) {
  Network n;
  ServerHarness server(n.net, n.store);
  ClientHarness c(n.net, config_for("off"));
  c.add_server(101, kServerUri);
  (void)c.data.put(Path{1, 0, 5}, Value(std::int64_t{30}));
  ASSERT_TRUE(start_and_register(n, server, c, "off"));
  EXPECT_EQ(code_of(call(n.net, server.server, "off", op(Operation::kExecute, Path{1, 0, 4}))),
            codes::kChanged);
  n.net.run_for(Duration{1'000});
  EXPECT_EQ(server.server.find("off"), nullptr);
  n.net.run_for(Duration{25'000});
  EXPECT_EQ(server.server.find("off"), nullptr);
  n.net.run_for(Duration{10'000});
  EXPECT_NE(server.server.find("off"), nullptr);
}

// Core TS E.2: lifetime 0 is infinite, so no Update falls due however long the client runs.
TEST(Client, InfiniteLifetimeNeedsNoUpdates) {
  Network n;
  RawServer raw(n.net, 1);
  ClientHarness c(n.net, config_for("forever"));
  c.add_server(101, kServerUri, 0);
  c.client.start();
  n.net.run_for(Duration{2'000});
  ASSERT_EQ(c.client.state(101), Lwm2mClient::State::kRegistered);
  const auto seen = raw.received.size();
  n.net.run_for(Duration{3'600'000});
  EXPECT_EQ(raw.received.size(), seen);
  EXPECT_EQ(c.count(ClientEvent::Kind::kUpdated), 0u);
}

// Core TS E.2: while disabled, the client ignores what the server sends.
TEST(Client, DisabledServerIsIgnored) {
  Network n;
  RawServer raw(n.net, 1);
  ClientHarness c(n.net, config_for("quiet"));
  c.add_server(101, kServerUri);
  c.client.start();
  n.net.run_for(Duration{2'000});
  ASSERT_EQ(c.client.state(101), Lwm2mClient::State::kRegistered);
  EXPECT_EQ(raw.ask(req(codes::kPost, "/1/0/4")).code, codes::kChanged);
  n.net.run_for(Duration{1'000});
  EXPECT_EQ(raw.received.back().code, codes::kDelete);  // the De-register
  EXPECT_NE(raw.ask(req(codes::kGet, "/3/0/0")).code, codes::kContent);
}

// Transport TS 6.4.4, the Write-Attributes examples on the Battery Level (/3/0/9), as
// notifications seen by our server: for each (old, new) pair an observation starts at the
// old value, the value moves to the new one, and a notification follows or does not.
TEST(Client, WriteAttributesExamplesOf644) {
  Network n;
  ServerHarness server(n.net, n.store);
  ClientHarness c(n.net, config_for("battery"));
  c.add_server(101, kServerUri);
  c.device.set(Path{3, 0, 9}, Value(std::int64_t{50}));
  ASSERT_TRUE(start_and_register(n, server, c, "battery"));
  const Path battery{3, 0, 9};
  auto write_attributes = [&](Path p, std::vector<std::string> a) {
    auto wa = op(Operation::kWriteAttributes, p);
    wa.attributes = std::move(a);
    return code_of(call(n.net, server.server, "battery", wa));
  };
  auto notified = [&](std::int64_t old_value, std::int64_t new_value) {
    c.device.set(battery, Value(old_value));
    n.net.run_for(Duration{100});
    auto observed = call(n.net, server.server, "battery", op(Operation::kObserve, battery));
    EXPECT_EQ(code_of(observed), codes::kContent);
    const auto before = server_events(server, ServerEvent::Kind::kNotification);
    c.device.set(battery, Value(new_value));
    n.net.run_for(Duration{500});
    const bool any = server_events(server, ServerEvent::Kind::kNotification) > before;
    server.server.cancel_observation(observed.observation_id, true);
    n.net.run_for(Duration{500});
    return any;
  };

  // Example 4: gt=45&st=10.
  ASSERT_EQ(write_attributes(battery, {"gt=45", "st=10"}), codes::kChanged);
  EXPECT_TRUE(notified(45, 50));   // gt
  EXPECT_TRUE(notified(38, 49));   // gt and st
  EXPECT_TRUE(notified(48, 42));   // gt
  EXPECT_FALSE(notified(48, 55));  // neither
  // Example 5: lt=20&gt=85&st=10.
  ASSERT_EQ(write_attributes(battery, {"lt=20", "gt=85"}), codes::kChanged);
  EXPECT_TRUE(notified(75, 90));   // gt and st
  EXPECT_TRUE(notified(50, 10));   // lt and st
  EXPECT_TRUE(notified(87, 99));   // st
  EXPECT_TRUE(notified(17, 24));   // lt
  EXPECT_FALSE(notified(17, 12));  // neither

  // Examples 1 to 3: pmin at the instance applies to its resources; at the resource it wins;
  // unset there, the instance's applies again.
  ASSERT_EQ(write_attributes(battery, {"gt", "lt", "st"}), codes::kChanged);
  ASSERT_EQ(write_attributes(Path{3, 0}, {"pmin=10"}), codes::kChanged);
  EXPECT_EQ(c.data.effective_attributes(101, battery).get(lwm2m::Attribute::kPmin), 10.0);
  ASSERT_EQ(write_attributes(battery, {"pmin=1"}), codes::kChanged);
  EXPECT_EQ(c.data.effective_attributes(101, battery).get(lwm2m::Attribute::kPmin), 1.0);
  ASSERT_EQ(write_attributes(battery, {"pmin"}), codes::kChanged);
  EXPECT_EQ(c.data.effective_attributes(101, battery).get(lwm2m::Attribute::kPmin), 10.0);
  // With nothing attached, the Server object's Default Minimum Period (/1/x/2) applies.
  ASSERT_EQ(write_attributes(Path{3, 0}, {"pmin"}), codes::kChanged);
  (void)c.data.put(Path{1, 0, 2}, Value(std::int64_t{7}));
  EXPECT_EQ(c.data.effective_attributes(101, battery).get(lwm2m::Attribute::kPmin), 7.0);
  // Under pmin=7 a change is held until 7 s after the last notification.
  auto observed = call(n.net, server.server, "battery", op(Operation::kObserve, battery));
  const auto before = server_events(server, ServerEvent::Kind::kNotification);
  c.device.set(battery, Value(std::int64_t{3}));
  n.net.run_for(Duration{6'000});
  EXPECT_EQ(server_events(server, ServerEvent::Kind::kNotification), before);
  n.net.run_for(Duration{1'500});
  EXPECT_EQ(server_events(server, ServerEvent::Kind::kNotification), before + 1);
  EXPECT_FALSE(observed.observation_id.empty());
}

// epmax makes the client look at a value that changes without telling (the current time);
// epmin keeps it from looking more often than that.
TEST(Client, EvaluationPeriodsEpminEpmax) {
  Network n;
  ServerHarness server(n.net, n.store);
  ClientHarness c(n.net, config_for("periods"));
  c.add_server(101, kServerUri, 3600);
  ASSERT_TRUE(start_and_register(n, server, c, "periods"));
  auto notes = [&] { return server_events(server, ServerEvent::Kind::kNotification); };
  auto clock = op(Operation::kObserve, Path{3, 0, 13});
  clock.attributes = {"epmax=5"};
  ASSERT_EQ(code_of(call(n.net, server.server, "periods", clock)), codes::kContent);
  n.net.run_for(Duration{16'000});
  EXPECT_EQ(notes(), 3u);  // at 5, 10 and 15 s the time had moved

  auto wa = op(Operation::kWriteAttributes, Path{3303, 0, 5700});
  wa.attributes = {"epmin=10"};
  ASSERT_EQ(code_of(call(n.net, server.server, "periods", wa)), codes::kChanged);
  ASSERT_EQ(
      code_of(call(n.net, server.server, "periods", op(Operation::kObserve, Path{3303, 0, 5700}))),
      codes::kContent);
  const auto before = notes();
  const auto temperature = [&] {
    std::size_t n5700 = 0;
    for (const auto& e : server.events_of(ServerEvent::Kind::kNotification)) {
      n5700 += e.content && e.content->content.find_value(Path{3303, 0, 5700}) != nullptr;
    }
    return n5700;
  };
  const auto t0 = temperature();
  c.temperature->tick(1.0);
  n.net.run_for(Duration{3'000});
  c.temperature->tick(1.0);
  n.net.run_for(Duration{3'000});
  EXPECT_EQ(temperature(), t0);  // not looked at before 10 s
  n.net.run_for(Duration{5'000});
  EXPECT_EQ(temperature(), t0 + 1);  // one look, one notification with the latest value
  EXPECT_GT(notes(), before);
}

TEST(Client, QueueModeDropsNotificationsWhenStoringIsOff) {
  Network n;
  ServerHarness server(n.net, n.store);
  ClientConfig config = config_for("nostore");
  config.queue_mode = true;
  ClientHarness c(n.net, config);
  c.add_server(101, kServerUri, 3600);
  (void)c.data.put(Path{1, 0, 6}, Value(false));
  ASSERT_TRUE(start_and_register(n, server, c, "nostore"));
  ASSERT_EQ(
      code_of(call(n.net, server.server, "nostore", op(Operation::kObserve, Path{3303, 0, 5700}))),
      codes::kContent);
  n.net.run_for(Duration{100'000});
  ASSERT_TRUE(c.client.asleep(101));
  c.temperature->tick(1.0);
  n.net.run_for(Duration{2'000});
  EXPECT_EQ(server_events(server, ServerEvent::Kind::kNotification), 0u);
  EXPECT_TRUE(c.client.asleep(101));  // nothing stored, nothing to wake for
}

// Core TS 5.4.1: con and hqmax given with the Observe act like written attributes.
TEST(Client, ConAndHqmaxInTheObserveQueryTakeEffect) {
  Network n;
  ServerHarness server(n.net, n.store);
  ClientConfig config = config_for("conhq");
  config.queue_mode = true;
  ClientHarness c(n.net, config);
  c.add_server(101, kServerUri, 3600);
  ASSERT_TRUE(start_and_register(n, server, c, "conhq"));
  auto observe = op(Operation::kObserve, Path{3303, 0, 5700});
  observe.attributes = {"con=1"};
  ASSERT_EQ(code_of(call(n.net, server.server, "conhq", observe)), codes::kContent);
  auto confirmable_notifications = [&] {
    return n.net.count(kClientAddress, [](const coap::sim::Packet& p) {
      return p.message && p.message->observe().has_value() && p.message->code.is_success() &&
             p.message->type == coap::Type::kConfirmable;
    });
  };
  c.temperature->tick(1.0);
  n.net.run_for(Duration{2'000});
  EXPECT_EQ(confirmable_notifications(), 1u);  // con=1: CON, not the default NON
  // hqmax=0 from the same query: asleep, nothing is kept for later, so nothing wakes it.
  auto quiet = op(Operation::kObserve, Path{3303, 0, 5601});
  quiet.attributes = {"hqmax=0"};
  ASSERT_EQ(code_of(call(n.net, server.server, "conhq", quiet)), codes::kContent);
  ASSERT_TRUE(server.server.cancel_observation(server.server.observations("conhq").at(0).id, true));
  n.net.run_for(Duration{100'000});
  ASSERT_TRUE(c.client.asleep(101));
  const auto before = server_events(server, ServerEvent::Kind::kNotification);
  c.temperature->tick(-5.0);  // a new minimum (5601)
  n.net.run_for(Duration{2'000});
  EXPECT_EQ(server_events(server, ServerEvent::Kind::kNotification), before);
  EXPECT_TRUE(c.client.asleep(101));
}

TEST(Client, BootstrapsFromAPack) {
  Network n;
  ServerHarness server(n.net, n.store);
  BootstrapHarness bs(n.net);
  bs.configure("packed", R"({
    "security": {"1": {"uri": "coap://10.0.0.1:1", "bootstrap": false, "mode": "nosec",
                       "shortServerId": 101}},
    "servers": {"1": {"shortServerId": 101, "lifetime": 90}}})");
  ClientConfig config = config_for("packed");
  config.bootstrap_pack = true;
  ClientHarness c(n.net, config);
  c.add_bootstrap_server(kBootstrapUri);
  ASSERT_TRUE(start_and_register(n, server, c, "packed"));
  EXPECT_EQ(server.server.find("packed")->lifetime, 90u);
  EXPECT_EQ(bs.bs.metrics().packs, 1u);
  EXPECT_TRUE(c.data.bootstrap_account().has_value());
}

}  // namespace
}  // namespace tether::client
