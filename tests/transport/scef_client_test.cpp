// The server's NIDD carrier against an SCEF on 127.0.0.1 (our simulator's core behind our
// HTTP server, as `tether scef` runs it): configurations, deliveries to a reachable UE and
// to a sleeping one (buffered, then settled by the SCEF's status callback, Appendix D.6),
// uplinks through the callback, and callbacks without the token refused.
#include "transport/nidd/scef_client.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nidd/scef.hpp"
#include "support/run_loop.hpp"

namespace tether::transport {
namespace {

using testing::run_until;

const nidd::UeId kMeter{"meter@iot.example", ""};

// The T8 API of nidd::Scef on a real HTTP server; its callbacks go out by HTTP client.
struct Scef {
  Scef(EventLoop& l, Duration active_time)
      : loop(l),
        server(l, options(),
               [this](const http::Request& r, HttpServer::Responder to) {
                 auto a = core->handle(r.method, r.path, to_bytes(r.body), loop.now());
                 http::Response response;
                 response.status = a.status;
                 response.body = std::move(a.body);
                 to.respond(std::move(response));
                 pump();
               }),
        callbacks(l, HttpClientOptions{}) {
    EXPECT_TRUE(server.start());
    nidd::ScefConfig c;
    c.base_url = "http://127.0.0.1:" + std::to_string(server.port());
    c.active_time = active_time;
    core = std::make_unique<nidd::Scef>(c);
    core->add_ue(kMeter, l.now());
  }
  static HttpServerOptions options() {
    HttpServerOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    return o;
  }
  // Sends the core's callbacks; keeps its downlinks.
  void pump() {
    while (auto d = core->poll_downlink()) downlinks.push_back(std::move(d->second));
    while (auto cb = core->poll_callback()) {
      const auto slash = cb->url.find('/', 7);
      http::Request r;
      r.method = "POST";
      r.target = cb->url.substr(slash);
      r.body = std::move(cb->json);
      callbacks.request(cb->url.substr(0, slash), std::move(r),
                        [this](Result<http::Response> a) { answers.push_back(a ? a->status : 0); });
    }
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server.port()); }

  EventLoop& loop;
  HttpServer server;
  HttpClient callbacks;
  std::unique_ptr<nidd::Scef> core;
  std::vector<Bytes> downlinks;
  std::vector<int> answers;  // what our callback URL answered the SCEF
};

struct Rig {
  explicit Rig(Duration active_time) : scef(loop, active_time) {
    ScefClientOptions o;
    o.scef_url = scef.url();
    o.ues = {kMeter};
    o.callback_port = 0;
    client = std::make_unique<ScefClient>(loop, o);
    client->set_reporter([this](std::uint64_t h, NiddCarrier::Outcome outcome) {
      reports.emplace_back(h, outcome);
    });
    client->set_receiver(
        [this](const std::string& ue, Bytes data) { received.emplace_back(ue, std::move(data)); });
    EXPECT_TRUE(client->start());
    EXPECT_TRUE(run_until(loop, [&] { return client->configured(kMeter.key()); }));
  }
  std::uint64_t send(Bytes data) {
    NiddPacket p;
    p.ue = kMeter.key();
    p.data = std::move(data);
    return client->send(p);
  }
  std::uint64_t counter(const std::string& name) const {
    for (const auto& [n, v] : client->counters()) {
      if (n == name) return v;
    }
    return ~std::uint64_t{0};
  }
  EventLoop loop;
  Scef scef;
  std::unique_ptr<ScefClient> client;
  std::vector<std::pair<std::uint64_t, NiddCarrier::Outcome>> reports;
  std::vector<std::pair<std::string, Bytes>> received;
};

TEST(ScefClient, DeliversToAReachableUeAndHearsItsUplinks) {
  Rig r(Duration{60'000});
  const auto h = r.send({0x40, 0x01, 0x00, 0x01});
  EXPECT_TRUE(r.reports.empty());  // never from within send()
  ASSERT_TRUE(run_until(r.loop, [&] { return !r.reports.empty(); }));
  EXPECT_EQ(r.reports[0], std::make_pair(h, NiddCarrier::Outcome::kDelivered));
  ASSERT_EQ(r.scef.downlinks.size(), 1u);
  EXPECT_EQ(r.scef.downlinks[0], (Bytes{0x40, 0x01, 0x00, 0x01}));

  r.scef.core->on_uplink(kMeter, {0x60, 0x45, 0x00, 0x01}, 0, r.loop.now());
  r.scef.pump();
  ASSERT_TRUE(run_until(r.loop, [&] { return !r.received.empty(); }));
  EXPECT_EQ(r.received[0].first, kMeter.key());
  EXPECT_EQ(r.received[0].second, (Bytes{0x60, 0x45, 0x00, 0x01}));
  ASSERT_TRUE(run_until(r.loop, [&] { return !r.scef.answers.empty(); }));
  EXPECT_EQ(r.scef.answers[0], 204);
}

TEST(ScefClient, ABufferedDeliveryIsSettledByTheScefsReport) {
  Rig r(Duration{0});  // asleep as soon as attached
  const auto h = r.send({0x40, 0x01, 0x00, 0x02});
  ASSERT_TRUE(run_until(r.loop, [&] { return !r.reports.empty(); }));
  EXPECT_EQ(r.reports[0], std::make_pair(h, NiddCarrier::Outcome::kBuffered));
  EXPECT_TRUE(r.scef.downlinks.empty());
  // The UE sends: what waited goes, and the SCEF says so.
  r.scef.core->on_uplink(kMeter, {0x50, 0x02, 0x00, 0x07}, 0, r.loop.now());
  r.scef.pump();
  ASSERT_TRUE(run_until(r.loop, [&] { return r.reports.size() == 2; }));
  EXPECT_EQ(r.reports[1], std::make_pair(h, NiddCarrier::Outcome::kDelivered));
  EXPECT_EQ(r.scef.downlinks.size(), 1u);
  EXPECT_EQ(r.counter("nidd_scef_buffered"), 1u);
}

TEST(ScefClient, RefusesCallbacksWithoutTheToken) {
  Rig r(Duration{60'000});
  HttpClient raw(r.loop, HttpClientOptions{});
  std::vector<int> status;
  auto post = [&](const std::string& target, const std::string& body) {
    http::Request q;
    q.method = "POST";
    q.target = target;
    q.body = body;
    raw.request("http://127.0.0.1:" + std::to_string(r.client->callback_port()), std::move(q),
                [&](Result<http::Response> a) { status.push_back(a ? a->status : 0); });
    EXPECT_TRUE(run_until(r.loop, [&] { return !status.empty(); }));
    const int s = status.back();
    status.clear();
    return s;
  };
  const std::string uplink =
      R"({"niddConfiguration":"x","externalId":"meter@iot.example","data":"QAEAAQ=="})";
  // No token (the random one the SCEF was given), a wrong one.
  EXPECT_EQ(post("/nidd", uplink), 403);
  EXPECT_EQ(post("/nidd?token=guess", uplink), 403);
  EXPECT_EQ(r.counter("nidd_scef_callback_refused"), 2u);
  EXPECT_TRUE(r.received.empty());
}

TEST(ScefClient, RefusesWhatItCannotUse) {
  EventLoop loop;
  ScefClientOptions o;
  o.ues = {kMeter};
  o.scef_url = "https://127.0.0.1:1";  // no T8 over HTTPS yet
  EXPECT_THROW(ScefClient(loop, o), std::invalid_argument);
  o.scef_url = "http://127.0.0.1:1";
  o.callback_host = "0.0.0.0";  // not an address the SCEF can call
  EXPECT_THROW(ScefClient(loop, o), std::invalid_argument);
  o.callback_host = "127.0.0.1";
  o.scs_as_id = "a/b";
  EXPECT_THROW(ScefClient(loop, o), std::invalid_argument);
}

}  // namespace
}  // namespace tether::transport
