// The LwM2M server over the HTTP binding (Transport TS 7), on virtual time: a device's
// requests as raw HTTP bytes (Register, Update, Send, De-register), its own HTTP server
// played by a scripted responder behind the link's `send`, the 7.3 status codes, the
// operations section 7 leaves out, and a device that cannot be reached.
#include <gtest/gtest.h>

#include <deque>
#include <memory>

#include "common/random.hpp"
#include "lwm2m/model/object_registry.hpp"
#include "server/link/http_server_link.hpp"
#include "server/lwm2m_server.hpp"
#include "server/store/memory/memory_store.hpp"
#include "support/manual_clock.hpp"
#include "support/raw_http.hpp"

namespace tether::server {
namespace {

using lwm2m::DownlinkRequest;
using lwm2m::Operation;
using lwm2m::Path;
using tether::testing::ManualClock;

struct SentRequest {
  std::string origin;
  http::Request request;
  HttpServerLink::ResponseHandler done;
};

HttpLinkConfig link_config() {
  HttpLinkConfig config;
  config.device_port = 5690;
  config.nonce_secret = to_bytes("nonce key");
  return config;
}

struct HttpServerHarness {
  explicit HttpServerHarness(HttpLinkConfig config = link_config())
      : random(9),
        models(lwm2m::model::ObjectRegistry::with_builtin()),
        server(ServerConfig{}, clock, random, store, models) {
    auto owned = std::make_unique<HttpServerLink>(
        config, models,
        [this](const std::string& origin, http::Request r, HttpServerLink::ResponseHandler done) {
          sent.push_back({origin, std::move(r), std::move(done)});
        });
    link = owned.get();
    link->set_digest_passwords([this](std::string_view ep) -> std::optional<std::string> {
      auto c = server.credentials(std::string(ep));
      if (!c || c->kind != Credentials::Kind::kDigest) return std::nullopt;
      return c->http_password;
    });
    server.attach(std::move(owned));
    server.set_event_handler([this](const ServerEvent& e) { events.push_back(e); });
  }

  // A device's request from 192.0.2.7, as raw bytes; the link's answer.
  static HttpRequestFrom at(std::string address) {
    HttpRequestFrom from;
    from.address = std::move(address);
    return from;
  }
  http::Response from_device(std::string_view raw,
                             const HttpRequestFrom& from = at("192.0.2.7:40001"),
                             const std::string& authorization = {}) {
    auto request = test_support::parse_raw_request(raw);
    EXPECT_TRUE(request.has_value()) << raw;
    if (!authorization.empty()) request->headers.set("Authorization", authorization);
    std::optional<http::Response> got;
    link->on_request(
        *request, from, [&](http::Response r) { got = std::move(r); }, clock.now());
    server.on_timer();
    EXPECT_TRUE(got.has_value()) << raw;
    return got.value_or(http::Response{});
  }
  std::size_t count(ServerEvent::Kind kind) const {
    std::size_t n = 0;
    for (const auto& e : events) n += e.kind == kind ? 1 : 0;
    return n;
  }

  ManualClock clock;
  MemoryStore store;
  SeededRandom random;
  lwm2m::model::ObjectRegistry models;
  Lwm2mServer server;
  HttpServerLink* link = nullptr;
  std::deque<SentRequest> sent;
  std::vector<ServerEvent> events;
};

constexpr const char* kRegister =
    "POST /rd?ep=dev1&lt=300&lwm2m=1.2&b=H HTTP/1.1\r\nHost: s\r\n"
    "Content-Type: application/link-format\r\n"
    "Link: <https://192.0.2.7:8443>; rel=\"lwm2m-device\"\r\n"
    "Content-Length: 23\r\n\r\n</1/0>,</3/0>,</3303/0>";

std::string location_of(const http::Response& r) {
  return std::string(r.headers.get("Location").value_or(""));
}

TEST(HttpServer, RegistersUpdatesAndDeregistersFromTheWire) {
  HttpServerHarness h;
  auto created = h.from_device(kRegister);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string location = location_of(created);
  ASSERT_TRUE(location.starts_with("/rd/")) << location;
  const auto* reg = h.server.find("dev1");
  ASSERT_NE(reg, nullptr);
  EXPECT_EQ(reg->transport, "http");
  EXPECT_EQ(reg->address, "https://192.0.2.7:8443");  // where downlinks go

  auto updated = h.from_device("POST " + location +
                               "?lt=600 HTTP/1.1\r\nHost: s\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(updated.status, 204);
  EXPECT_EQ(h.server.find("dev1")->lifetime, 600u);
  // An Update that announces nothing moves the device to where it spoke from (as a CoAP
  // Update from a new address does); a new announcement moves it there.
  EXPECT_EQ(h.server.find("dev1")->address, "http://192.0.2.7:5690");
  EXPECT_EQ(h.from_device("POST " + location +
                          " HTTP/1.1\r\nHost: s\r\nContent-Length: 0\r\n"
                          "Link: <https://192.0.2.8:8443>; rel=\"lwm2m-device\"\r\n\r\n")
                .status,
            204);
  EXPECT_EQ(h.server.find("dev1")->address, "https://192.0.2.8:8443");
  auto unknown =
      h.from_device("POST /rd/nope?lt=600 HTTP/1.1\r\nHost: s\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(unknown.status, 404);

  // Send has no location: the device is its origin, announced (or guessed) as on Register.
  const std::string send_body = "[{\"n\":\"/3303/0/5700\",\"v\":21.5}]";
  const std::string send =
      "POST /dp HTTP/1.1\r\nHost: s\r\nContent-Type: application/senml+json\r\n"
      "Content-Length: 31\r\n";
  EXPECT_EQ(h.from_device(send + "\r\n" + send_body).status, 400);  // from a guessed origin
  auto sent = h.from_device(send + "Link: <https://192.0.2.8:8443>; rel=\"lwm2m-device\"\r\n\r\n" +
                            send_body);
  EXPECT_EQ(sent.status, 204) << sent.body << " (" << sent.status << ")";
  EXPECT_EQ(h.count(ServerEvent::Kind::kSend), 1u);

  auto gone = h.from_device("DELETE " + location + " HTTP/1.1\r\nHost: s\r\n\r\n");
  EXPECT_EQ(gone.status, 204);
  EXPECT_EQ(h.server.find("dev1"), nullptr);
}

TEST(HttpServer, RefusesWithTheCodesOfSection73) {
  HttpServerHarness h;
  EXPECT_EQ(h.from_device("GET /rd HTTP/1.1\r\nHost: s\r\n\r\n").status, 405);
  EXPECT_EQ(h.from_device("GET /api HTTP/1.1\r\nHost: s\r\n\r\n").status, 404);
  // The Bootstrap interface is another link's.
  EXPECT_EQ(
      h.from_device("POST /bs?ep=dev1 HTTP/1.1\r\nHost: s\r\nContent-Length: 0\r\n\r\n").status,
      404);
  EXPECT_EQ(
      h.from_device("POST /rd?ep=dev1&x=1 HTTP/1.1\r\nHost: s\r\nContent-Length: 0\r\n\r\n").status,
      400);
  // A device origin that is no origin.
  EXPECT_EQ(h.from_device("POST /rd?ep=dev1 HTTP/1.1\r\nHost: s\r\n"
                          "Link: <javascript:alert(1)>; rel=\"lwm2m-device\"\r\n"
                          "Content-Type: application/link-format\r\nContent-Length: 6\r\n\r\n"
                          "</3/0>")
                .status,
            400);
  EXPECT_EQ(h.server.find("dev1"), nullptr);
}

TEST(HttpServer, DownlinksGoToTheDevicesOwnServer) {
  HttpServerHarness h;
  ASSERT_EQ(h.from_device(kRegister).status, 201);
  std::optional<DownlinkResult> last;
  DownlinkRequest read;
  read.op = Operation::kRead;
  read.path = Path{3, 0, 0};
  h.server.send("dev1", read, {}, [&](DownlinkResult r) { last = std::move(r); });
  ASSERT_EQ(h.sent.size(), 1u);
  EXPECT_EQ(h.sent[0].origin, "https://192.0.2.7:8443");
  EXPECT_EQ(h.sent[0].request.method, "GET");
  EXPECT_EQ(h.sent[0].request.target, "/3/0/0");
  http::Response answer = http::Response::text(200, "Tether", "text/plain;charset=utf-8");
  h.sent[0].done(answer);
  h.sent.pop_front();
  ASSERT_TRUE(last.has_value());
  ASSERT_EQ(last->status, DownlinkResult::Status::kAnswered) << last->message;
  EXPECT_EQ(last->response->code, lwm2m::status::kContent);
  EXPECT_EQ(*last->response->content.find_value(Path{3, 0, 0}), lwm2m::Value("Tether"));

  // Section 7 has no Observe: refused before anything is sent.
  DownlinkRequest observe = read;
  observe.op = Operation::kObserve;
  last.reset();
  h.server.send("dev1", observe, {}, [&](DownlinkResult r) { last = std::move(r); });
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->status, DownlinkResult::Status::kBadRequest);
  EXPECT_TRUE(h.sent.empty());

  // A device whose server cannot be reached.
  last.reset();
  h.server.send("dev1", read, {}, [&](DownlinkResult r) { last = std::move(r); });
  ASSERT_EQ(h.sent.size(), 1u);
  h.sent[0].done(fail("connect 192.0.2.7:8443: Connection refused"));
  ASSERT_TRUE(last.has_value());
  EXPECT_NE(last->status, DownlinkResult::Status::kAnswered);
  EXPECT_EQ(h.link->counters().front(), (std::pair<std::string, std::uint64_t>{"unreachable", 1}));
}

TEST(HttpServer, WithoutAnAnnouncementTheSourceAddressAndDevicePortAreUsed) {
  HttpServerHarness h;
  auto created = h.from_device(
      "POST /rd?ep=dev2 HTTP/1.1\r\nHost: s\r\nContent-Type: application/link-format\r\n"
      "Content-Length: 6\r\n\r\n</3/0>",
      HttpServerHarness::at("[2001:db8::7]:40001"));
  ASSERT_EQ(created.status, 201);
  EXPECT_EQ(h.server.find("dev2")->address, "http://[2001:db8::7]:5690");
}

// Seed 004 5.2.1.2: an endpoint whose credentials are in mode digest is challenged on its
// first message and registers only with the right password; a location alone then moves
// nothing, and a replayed request is refused.
TEST(HttpServer, AnEndpointWithADigestPasswordMustAnswerTheChallenge) {
  HttpServerHarness h;
  Credentials c;
  c.endpoint = "dev1";
  c.kind = Credentials::Kind::kDigest;
  c.http_password = "s3cret";
  ASSERT_TRUE(h.server.put_credentials(c));

  auto challenged = h.from_device(kRegister);
  ASSERT_EQ(challenged.status, 401);
  EXPECT_TRUE(challenged.body.empty());
  const std::string challenge(challenged.headers.get("WWW-Authenticate").value_or(""));
  ASSERT_TRUE(challenge.starts_with("Digest ")) << challenge;
  EXPECT_EQ(h.server.find("dev1"), nullptr);

  const std::string target = "/rd?ep=dev1&lt=300&lwm2m=1.2&b=H";
  auto wrong = http::digest_authorization(challenge, "POST", target, "dev1", "guess", "c1", 1);
  EXPECT_EQ(h.from_device(kRegister, HttpServerHarness::at("192.0.2.7:40001"), *wrong).status, 401);
  EXPECT_EQ(h.server.find("dev1"), nullptr);

  auto right = http::digest_authorization(challenge, "POST", target, "dev1", "s3cret", "c1", 2);
  auto created = h.from_device(kRegister, HttpServerHarness::at("192.0.2.7:40001"), *right);
  ASSERT_EQ(created.status, 201) << created.body;
  ASSERT_NE(h.server.find("dev1"), nullptr);
  // The same request again is a replay.
  EXPECT_EQ(h.from_device(kRegister, HttpServerHarness::at("192.0.2.7:40001"), *right).status, 401);

  // An Update without the proof changes nothing; with it, it goes through.
  const std::string location = location_of(created);
  const std::string update =
      "POST " + location + "?lt=600 HTTP/1.1\r\nHost: s\r\nContent-Length: 0\r\n\r\n";
  EXPECT_NE(h.from_device(update).status, 204);
  EXPECT_EQ(h.server.find("dev1")->lifetime, 300u);
  auto proof = http::digest_authorization(challenge, "POST", location + "?lt=600", "dev1", "s3cret",
                                          "c1", 3);
  EXPECT_EQ(h.from_device(update, HttpServerHarness::at("192.0.2.7:40001"), *proof).status, 204);
  EXPECT_EQ(h.server.find("dev1")->lifetime, 600u);

  // dev1's password does not register another name.
  const std::string other = "/rd?ep=dev2";
  auto as_dev1 = http::digest_authorization(challenge, "POST", other, "dev1", "s3cret", "c1", 4);
  EXPECT_EQ(h.from_device("POST /rd?ep=dev2 HTTP/1.1\r\nHost: s\r\nContent-Type: "
                          "application/link-format\r\nContent-Length: 6\r\n\r\n</3/0>",
                          HttpServerHarness::at("192.0.2.7:40001"), *as_dev1)
                .status,
            400);
  EXPECT_EQ(h.server.find("dev2"), nullptr);
  EXPECT_EQ(h.link->counters().back(),
            (std::pair<std::string, std::uint64_t>{"unauthenticated", 3}));
}

// Seed 004 5.2.1.1: the identity header of a trusted proxy names the endpoint; from anyone
// else the same header proves nothing.
TEST(HttpServer, AProxysIdentityHeaderCountsOnlyFromTheProxy) {
  HttpLinkConfig config = link_config();
  ASSERT_TRUE(http::parse_auth_modes("proxy", config.auth));
  config.auth.trusted_proxies = {"10.0.0.1"};
  HttpServerHarness h(config);
  Credentials c;
  c.endpoint = "dev1";
  c.kind = Credentials::Kind::kDigest;
  c.http_password = "unused-behind-the-proxy";
  ASSERT_TRUE(h.server.put_credentials(c));
  const std::string vouched =
      "POST /rd?ep=dev1 HTTP/1.1\r\nHost: s\r\nX-Authenticated-User: dev1\r\n"
      "Content-Type: application/link-format\r\nContent-Length: 6\r\n\r\n</3/0>";
  EXPECT_EQ(h.from_device(vouched, HttpServerHarness::at("192.0.2.66:40000")).status, 403);
  EXPECT_EQ(h.server.find("dev1"), nullptr);
  EXPECT_EQ(h.from_device(vouched, HttpServerHarness::at("10.0.0.1:40000")).status, 201);
  ASSERT_NE(h.server.find("dev1"), nullptr);
  // The proxy naming someone else for dev1 is refused by the endpoint's credentials.
  const std::string mismatch =
      "POST /rd?ep=dev1 HTTP/1.1\r\nHost: s\r\nX-Authenticated-User: dev7\r\n"
      "Content-Type: application/link-format\r\nContent-Length: 6\r\n\r\n</3/0>";
  EXPECT_EQ(h.from_device(mismatch, HttpServerHarness::at("10.0.0.1:40000")).status, 400);
}

}  // namespace
}  // namespace tether::server
