#pragma once
// Our LwM2M client on the simulated network and virtual time, next to our server and
// bootstrap server (tests/server/server_fixture.hpp). Nothing sleeps or opens a socket.
#include <gtest/gtest.h>

#include "bootstrap/bootstrap_config_json.hpp"
#include "bootstrap/bootstrap_server.hpp"
#include "bootstrap/store/memory/memory_bootstrap_store.hpp"
#include "client/lwm2m_client.hpp"
#include "client/objects/account_objects.hpp"
#include "client/objects/firmware_object.hpp"
#include "client/objects/temperature_object.hpp"
#include "server/server_fixture.hpp"

namespace tether::client::testing {

using coap::sim::SimNetwork;
using lwm2m::Path;
using lwm2m::Value;
using server::testing::ServerHarness;
using server::testing::SimTransport;
using server::testing::VirtualClock;

inline constexpr coap::PeerId kBootstrapAddress = 2;
inline constexpr coap::PeerId kClientAddress = 9;
// SimTransport resolves a URI's port to the peer of that address.
inline const std::string kServerUri = "coap://10.0.0.1:1";
inline const std::string kBootstrapUri = "coap://10.0.0.1:2";

struct ClientHarness {
  ClientHarness(SimNetwork& net, ClientConfig config, coap::PeerId at = kClientAddress,
                coap::EndpointConfig endpoint = {})
      : net_(net),
        clock(net),
        transport(net, at, 21 + at, nullptr, tls::Role::kServer, std::move(endpoint)),
        models(lwm2m::model::ObjectRegistry::with_builtin()),
        data(models),
        device(add_standard_objects(data, DeviceInfo{}, clock)),
        client(std::move(config), clock, data) {
    auto t = std::make_unique<TemperatureObject>();
    temperature = t.get();
    (void)data.add(std::move(t));
    auto light = std::make_unique<DataObject>(3311);  // instances come and go by Create
    lights = light.get();
    (void)data.add(std::move(light));
    auto fw = std::make_unique<FirmwareObject>(
        [this](const std::string& uri, std::function<void(FirmwareObject::Download)> done) {
          client.fetch(uri, [done = std::move(done)](Result<Bytes> r) {
            done(FirmwareObject::download_from(std::move(r)));
          });
        },
        [this](const Bytes& package) -> Result<Ok> {
          installed = package;
          return Ok{};
        });
    firmware = fw.get();
    (void)data.add(std::move(fw));
    client.attach(transport, "coap");
    client.set_event_handler([this](const ClientEvent& e) { events.push_back(e); });
    net.add_timer_source(
        [this, alive = alive] { return *alive ? client.next_deadline() : std::nullopt; },
        [this, alive = alive](Instant) {
          if (*alive) client.on_timer();
        });
  }
  ~ClientHarness() { *alive = false; }

  // A factory-installed Server Account.
  void add_server(std::uint16_t ssid, const std::string& uri, std::int64_t lifetime = 300,
                  std::uint16_t instance = 0) {
    (void)data.put(Path{0, instance, 0}, Value(uri));
    (void)data.put(Path{0, instance, 1}, Value(false));
    (void)data.put(Path{0, instance, 2}, Value(std::int64_t{3}));
    (void)data.put(Path{0, instance, 10}, Value(std::int64_t{ssid}));
    (void)data.put(Path{1, instance, 0}, Value(std::int64_t{ssid}));
    (void)data.put(Path{1, instance, 1}, Value(lifetime));
    (void)data.put(Path{1, instance, 7}, Value("U"));
  }
  void add_bootstrap_server(const std::string& uri, std::uint16_t instance = 9) {
    (void)data.put(Path{0, instance, 0}, Value(uri));
    (void)data.put(Path{0, instance, 1}, Value(true));
    (void)data.put(Path{0, instance, 2}, Value(std::int64_t{3}));
  }

  std::size_t count(ClientEvent::Kind kind) const {
    std::size_t n = 0;
    for (const auto& e : events) n += e.kind == kind;
    return n;
  }

  SimNetwork& net_;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
  VirtualClock clock;
  SimTransport transport;
  lwm2m::model::ObjectRegistry models;
  DataModel data;
  DeviceObject& device;
  TemperatureObject* temperature = nullptr;
  DataObject* lights = nullptr;
  FirmwareObject* firmware = nullptr;
  Bytes installed;  // what the firmware installer was given
  Lwm2mClient client;
  std::vector<ClientEvent> events;
};

// Our bootstrap server at kBootstrapAddress.
struct BootstrapHarness {
  explicit BootstrapHarness(SimNetwork& net, bootstrap::BootstrapServerConfig config = {},
                            coap::EndpointConfig endpoint = {})
      : clock(net),
        transport(net, kBootstrapAddress, 5, nullptr, tls::Role::kServer, std::move(endpoint)),
        models(lwm2m::model::ObjectRegistry::with_builtin()),
        bs(config, clock, store, models) {
    bs.attach(transport, "udp");
    net.add_timer_source([this] { return bs.next_deadline(); }, [this](Instant) { bs.on_timer(); });
  }
  void configure(const std::string& endpoint, const std::string& json) {
    auto c = bootstrap::config_from_json(endpoint, nlohmann::json::parse(json), models);
    ASSERT_TRUE(c) << c.error().reason;
    ASSERT_TRUE(bs.put_config(std::move(*c)));
  }
  VirtualClock clock;
  SimTransport transport;
  lwm2m::model::ObjectRegistry models;
  bootstrap::MemoryBootstrapStore store;
  bootstrap::BootstrapServer bs;
};

struct Network {
  SimNetwork net;
  server::MemoryStore store;
};

// Sends an operation through the server's API and waits for the answer.
inline server::DownlinkResult call(SimNetwork& net, server::Lwm2mServer& s, const std::string& ep,
                                   lwm2m::DownlinkRequest r) {
  std::optional<server::DownlinkResult> got;
  s.send(ep, std::move(r), {}, [&](server::DownlinkResult d) { got = std::move(d); });
  net.run_until([&] { return got.has_value(); }, Duration{120'000});
  EXPECT_TRUE(got.has_value());
  return got.value_or(server::DownlinkResult{});
}

inline lwm2m::DownlinkRequest op(lwm2m::Operation o, Path p) {
  lwm2m::DownlinkRequest r;
  r.op = o;
  r.path = p;
  return r;
}

inline lwm2m::Status code_of(const server::DownlinkResult& r) {
  return r.response ? r.response->code : lwm2m::Status{};
}

inline std::size_t server_events(const ServerHarness& h, server::ServerEvent::Kind kind) {
  return h.events_of(kind).size();
}

inline ClientConfig config_for(const std::string& ep) {
  ClientConfig c;
  c.endpoint = ep;
  return c;
}

// Starts the client and runs the network until our server holds its registration.
inline bool start_and_register(Network& n, ServerHarness& server, ClientHarness& c,
                               const std::string& ep) {
  c.client.start();
  return n.net.run_until([&] { return server.server.find(ep) != nullptr; }, Duration{30'000});
}

}  // namespace tether::client::testing
