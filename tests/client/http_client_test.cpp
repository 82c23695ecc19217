// Our LwM2M client with our server over the HTTP binding (Transport TS 7), on virtual time:
// every request crosses as the bytes our HTTP stack writes and parses, each response as a
// value, through a queue that delivers them in order. Register, the Device Management
// operations section 7 carries, Observe refused, queue mode, De-register.
#include <gtest/gtest.h>

#include <deque>
#include <functional>

#include "binding/http/downlink_mapping.hpp"
#include "client/link/http_client_link.hpp"
#include "client/lwm2m_client.hpp"
#include "client/objects/account_objects.hpp"
#include "common/random.hpp"
#include "lwm2m/model/object_registry.hpp"
#include "server/link/http_server_link.hpp"
#include "server/lwm2m_server.hpp"
#include "server/store/memory/memory_store.hpp"
#include "support/manual_clock.hpp"
#include "support/raw_http.hpp"

namespace tether::client {
namespace {

using lwm2m::Operation;
using lwm2m::Path;
using lwm2m::Value;
using lwm2m::format::ContentFormat;
using tether::testing::ManualClock;

// The network: what is sent now arrives at the next delivery.
struct Wire {
  std::deque<std::function<void()>> pending;
  void deliver() {
    for (int i = 0; i < 1000 && !pending.empty(); ++i) {
      auto next = std::move(pending.front());
      pending.pop_front();
      next();
    }
  }
  // A request as the receiving HTTP server parses it from the sender's bytes.
  static http::Request across(const http::Request& r) {
    auto parsed = test_support::parse_raw_request(http::serialize_request(r, "peer"));
    EXPECT_TRUE(parsed.has_value());
    return parsed.value_or(http::Request{});
  }
};

struct HttpSession : ::testing::Test {
  HttpSession()
      : models(lwm2m::model::ObjectRegistry::with_builtin()),
        server(server::ServerConfig{}, clock, random, store, models),
        data(models),
        device(add_standard_objects(data, DeviceInfo{}, clock)) {
    server::HttpLinkConfig config;
    auto link = std::make_unique<server::HttpServerLink>(
        config, models,
        [this](const std::string& origin, http::Request r,
               server::HttpServerLink::ResponseHandler done) {
          EXPECT_EQ(origin, "http://192.0.2.7:5690");
          wire.pending.push_back([this, r = std::move(r), done = std::move(done)] {
            client_link->on_request(
                Wire::across(r), "127.0.0.1:5683",
                [this, done](http::Response response) {
                  wire.pending.push_back([done, response] { done(response); });
                },
                clock.now());
          });
        });
    server_link = link.get();
    server.attach(std::move(link));
    server.set_event_handler([this](const server::ServerEvent& e) { server_events.push_back(e); });
  }

  void make_client(ClientConfig config = {}) {
    config.endpoint = "dev1";
    client = std::make_unique<Lwm2mClient>(config, clock, data);
    HttpClientLinkConfig lc;
    lc.device_origin = "http://192.0.2.7:5690";
    auto link = std::make_unique<HttpClientLink>(
        lc,
        [this](const std::string& origin, http::Request r, const tls::ClientCredentials&,
               HttpClientLink::ResponseHandler done) {
          EXPECT_EQ(origin, "http://127.0.0.1:5683");
          wire.pending.push_back([this, r = std::move(r), done = std::move(done)] {
            server::HttpRequestFrom from;
            from.address = "192.0.2.7:40000";
            server_link->on_request(
                Wire::across(r), from,
                [this, done](http::Response response) {
                  wire.pending.push_back([done, response] { done(response); });
                },
                clock.now());
          });
        },
        data);
    client_link = link.get();
    client->attach(std::move(link));
  }

  void add_server_account(std::int64_t lifetime = 300) {
    (void)data.put(Path{0, 0, 0}, Value("http://127.0.0.1:5683"));
    (void)data.put(Path{0, 0, 1}, Value(false));
    (void)data.put(Path{0, 0, 2}, Value(std::int64_t{3}));
    (void)data.put(Path{0, 0, 10}, Value(std::int64_t{101}));
    (void)data.put(Path{1, 0, 0}, Value(std::int64_t{101}));
    (void)data.put(Path{1, 0, 1}, Value(lifetime));
    (void)data.put(Path{1, 0, 7}, Value("H"));
  }

  void run(Duration span) {
    const Instant end = clock.now() + span;
    for (int i = 0; i < 10'000; ++i) {
      wire.deliver();
      std::optional<Instant> next;
      auto consider = [&](std::optional<Instant> t) {
        if (t && (!next || *t < *next)) next = t;
      };
      consider(client->next_deadline());
      consider(server.next_deadline());
      if (!wire.pending.empty()) next = clock.now();
      if (!next || *next > end) break;
      if (*next > clock.now()) clock.at = *next;
      client->on_timer();
      server.on_timer();
    }
    if (clock.now() < end) clock.at = end;
    wire.deliver();
  }

  std::optional<server::DownlinkResult> ask(lwm2m::DownlinkRequest r,
                                            server::DownlinkOptions options = {}) {
    std::optional<server::DownlinkResult> got;
    server.send("dev1", std::move(r), options,
                [&](server::DownlinkResult d) { got = std::move(d); });
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

  Wire wire;
  ManualClock clock;
  SeededRandom random{4};
  lwm2m::model::ObjectRegistry models;
  server::MemoryStore store;
  server::Lwm2mServer server;
  server::HttpServerLink* server_link = nullptr;
  DataModel data;
  DeviceObject& device;
  std::unique_ptr<Lwm2mClient> client;
  HttpClientLink* client_link = nullptr;
  std::vector<server::ServerEvent> server_events;
};

TEST_F(HttpSession, RegistersIsManagedAndDeregisters) {
  add_server_account();
  ASSERT_TRUE(data.add(std::make_unique<DataObject>(3311)).ok());
  make_client();
  client->start();
  run(Duration{2'000});
  const auto* reg = server.find("dev1");
  ASSERT_NE(reg, nullptr);
  EXPECT_EQ(reg->transport, "http");
  EXPECT_EQ(reg->address, "http://192.0.2.7:5690");
  EXPECT_EQ(client->state(101), Lwm2mClient::State::kRegistered);

  for (auto format : {ContentFormat::kTlv, ContentFormat::kSenmlJson, ContentFormat::kSenmlCbor,
                      ContentFormat::kLwm2mCbor}) {
    auto read = at(Operation::kRead, Path{3, 0});
    read.format = format;
    auto got = ask(read);
    ASSERT_TRUE(got && got->status == server::DownlinkResult::Status::kAnswered);
    EXPECT_EQ(got->response->code, lwm2m::status::kContent);
    EXPECT_EQ(*got->response->content.find_value(Path{3, 0, 0}), Value("Tether"));
  }
  auto write = at(Operation::kWrite, Path{3, 0, 14});
  write.format = ContentFormat::kText;
  (void)write.content.set(Path{3, 0, 14}, Value("+02:00"));
  auto wrote = ask(write);
  ASSERT_TRUE(wrote && wrote->response);
  EXPECT_EQ(wrote->response->code, lwm2m::status::kChanged);
  EXPECT_EQ(data.value(Path{3, 0, 14}), Value("+02:00"));

  auto create = at(Operation::kCreate, Path{3311});
  create.format = ContentFormat::kTlv;
  (void)create.content.set(Path{3311, lwm2m::Path::kUnassigned, 5850}, Value(true));
  auto created = ask(create);
  ASSERT_TRUE(created && created->response);
  EXPECT_EQ(created->response->code, lwm2m::status::kCreated);
  EXPECT_EQ(created->response->created, (Path{3311, 0}));
  auto deleted = ask(at(Operation::kDelete, Path{3311, 0}));
  ASSERT_TRUE(deleted && deleted->response);
  EXPECT_EQ(deleted->response->code, lwm2m::status::kDeleted);

  const auto updates = count(server::ServerEvent::Kind::kUpdated);
  auto executed = ask(at(Operation::kExecute, Path{1, 0, 8}));
  ASSERT_TRUE(executed && executed->response);
  EXPECT_EQ(executed->response->code, lwm2m::status::kChanged);
  run(Duration{2'000});
  EXPECT_GT(count(server::ServerEvent::Kind::kUpdated), updates);

  // A request from a host none of our servers lives on is refused, whatever it asks.
  std::optional<http::Response> stranger;
  client_link->on_request(
      Wire::across(*binding::http_binding::encode_downlink(at(Operation::kRead, Path{3, 0, 0}), "/",
                                                           models)),
      "198.51.100.9:4000", [&](http::Response r) { stranger = std::move(r); }, clock.now());
  ASSERT_TRUE(stranger.has_value());
  EXPECT_EQ(stranger->status, 403);

  auto observe = ask(at(Operation::kObserve, Path{3, 0, 0}));
  ASSERT_TRUE(observe.has_value());
  EXPECT_EQ(observe->status, server::DownlinkResult::Status::kBadRequest);

  bool stopped = false;
  client->stop([&] { stopped = true; });
  run(Duration{2'000});
  EXPECT_TRUE(stopped);
  EXPECT_EQ(server.find("dev1"), nullptr);
}

TEST_F(HttpSession, QueueModeHoldsRequestsUntilTheClientsNextUpdate) {
  add_server_account(300);
  ClientConfig config;
  config.queue_mode = true;
  make_client(config);
  client->start();
  run(Duration{2'000});
  ASSERT_NE(server.find("dev1"), nullptr);
  run(Duration{100'000});  // past the awake windows, before the next Update
  EXPECT_FALSE(server.is_awake("dev1"));
  std::optional<server::DownlinkResult> got;
  server::DownlinkOptions options;
  options.timeout = Duration{600'000};
  server.send("dev1", at(Operation::kRead, Path{3, 0, 0}), options,
              [&](server::DownlinkResult d) { got = std::move(d); });
  run(Duration{1'000});
  EXPECT_FALSE(got.has_value());  // 7.2: held while it sleeps
  run(Duration{300'000});         // its next Update wakes it
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->status, server::DownlinkResult::Status::kAnswered) << got->message;
}

}  // namespace
}  // namespace tether::client
