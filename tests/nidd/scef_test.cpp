// Our SCEF simulator (nidd/scef) through its T8 API on virtual time: configurations, MT
// data delivered or buffered while the UE sleeps in PSM, MO data to the callback, D.4's
// release assistance, expiry, and what it refuses.
#include "nidd/scef.hpp"

#include <gtest/gtest.h>

namespace tether::nidd {
namespace {

const std::string kConfigurations = "/3gpp-nidd/v1/as1/configurations";

struct Rig {
  Rig() : scef(config()) {
    ue.external_id = "meter@iot.example";
    scef.add_ue(ue, now);
  }
  static ScefConfig config() {
    ScefConfig c;
    c.max_packet = 100;
    c.periodic_tau = Duration{600'000};
    c.active_time = Duration{20'000};
    return c;
  }
  HttpAnswer post(const std::string& path, const std::string& json) {
    return scef.handle("POST", path, to_bytes(json), now);
  }
  std::string configure() {
    auto a = post(kConfigurations, R"({"externalId":"meter@iot.example",
        "notificationDestination":"http://127.0.0.1:9000/nidd"})");
    EXPECT_EQ(a.status, 201) << a.body;
    return a.location.substr(a.location.find("/3gpp-nidd"));
  }
  HttpAnswer send(const std::string& config, const std::string& extra = "") {
    return post(config + "/downlink-data-deliveries",
                R"({"externalId":"meter@iot.example","data":"QAEAAQ==")" + extra + "}");
  }
  void advance(Duration d) {
    const Instant end = now + d;
    while (auto next = scef.next_deadline()) {
      if (*next > end) break;
      now = *next;
      scef.on_timer(now);
    }
    now = end;
  }
  Instant now{};
  UeId ue;
  Scef scef;
};

TEST(Scef, DeliversAtOnceOrBuffersUntilThePeriodicTau) {
  Rig r;
  const auto config = r.configure();
  auto now = r.send(config);
  EXPECT_EQ(now.status, 200);
  EXPECT_NE(now.body.find("\"SUCCESS\""), std::string::npos);
  ASSERT_TRUE(r.scef.poll_downlink());

  r.advance(Duration{30'000});  // past T3324: in PSM
  EXPECT_FALSE(r.scef.reachable(r.ue, r.now));
  auto later = r.send(config);
  EXPECT_EQ(later.status, 201);
  EXPECT_NE(later.body.find("BUFFERING"), std::string::npos);
  EXPECT_FALSE(r.scef.poll_downlink());
  r.advance(Duration{600'000});  // the periodic TAU wakes it
  ASSERT_TRUE(r.scef.poll_downlink());
  auto cb = r.scef.poll_callback();
  ASSERT_TRUE(cb);
  EXPECT_EQ(cb->url, "http://127.0.0.1:9000/nidd");
  auto n = parse_notification(to_bytes(cb->json));
  ASSERT_TRUE(n);
  EXPECT_EQ(std::get<DeliveryStatusNotification>(*n).delivery_status, "SUCCESS");
  EXPECT_EQ(std::get<DeliveryStatusNotification>(*n).transfer, later.location);
}

TEST(Scef, UplinksGoToTheCallbackAndReleaseAssistanceShortensTheWake) {
  Rig r;
  const auto config = r.configure();
  r.advance(Duration{30'000});
  // No further data: released at once, then paged for T3324 (20 s) alone.
  r.scef.on_uplink(r.ue, {1, 2, 3}, 1, r.now);
  auto cb = r.scef.poll_callback();
  ASSERT_TRUE(cb);
  auto n = parse_notification(to_bytes(cb->json));
  ASSERT_TRUE(n);
  EXPECT_EQ(std::get<UplinkNotification>(*n).data, (Bytes{1, 2, 3}));
  EXPECT_TRUE(r.scef.reachable(r.ue, r.now + Duration{19'000}));
  EXPECT_FALSE(r.scef.reachable(r.ue, r.now + Duration{21'000}));
  r.advance(Duration{21'000});
  EXPECT_EQ(r.send(config).status, 201);

  // One downlink expected: the buffered one goes, and T3324 runs from its release.
  r.scef.on_uplink(r.ue, {4}, 2, r.now);
  EXPECT_TRUE(r.scef.poll_downlink());
  r.advance(Duration{5'000});
  EXPECT_EQ(r.send(config).status, 200);  // paged in idle mode: still reachable
  EXPECT_TRUE(r.scef.poll_downlink());
  EXPECT_FALSE(r.scef.reachable(r.ue, r.now + Duration{16'000}));
  // None: connected for the network's inactivity time (10 s) first.
  r.scef.on_uplink(r.ue, {5}, 0, r.now);
  EXPECT_TRUE(r.scef.reachable(r.ue, r.now + Duration{29'000}));
  EXPECT_FALSE(r.scef.reachable(r.ue, r.now + Duration{31'000}));
}

TEST(Scef, BufferedDataExpiresAndBadRequestsAreRefused) {
  Rig r;
  const auto config = r.configure();
  r.advance(Duration{30'000});
  EXPECT_EQ(r.send(config, R"(,"maximumLatency":10)").status, 201);
  r.advance(Duration{11'000});
  auto cb = r.scef.poll_callback();
  ASSERT_TRUE(cb);
  EXPECT_NE(cb->json.find("FAILURE_TIMEOUT"), std::string::npos);
  EXPECT_EQ(r.scef.buffered(r.ue), 0u);

  EXPECT_EQ(r.post(config + "/downlink-data-deliveries",
                   R"({"externalId":"meter@iot.example","data":")" + std::string(200, 'A') + "\"}")
                .status,
            413);
  EXPECT_EQ(r.post(config + "/downlink-data-deliveries",
                   R"({"externalId":"other@iot.example","data":"QQ=="})")
                .status,
            400);
  EXPECT_EQ(r.post(kConfigurations, R"({"externalId":"ghost@iot.example",
      "notificationDestination":"http://127.0.0.1:9000/nidd"})")
                .status,
            404);
  EXPECT_EQ(r.post(kConfigurations, R"({"externalId":"meter@iot.example",
      "notificationDestination":"file:///etc/passwd"})")
                .status,
            400);
  EXPECT_EQ(r.post(kConfigurations, "not json").status, 400);
  EXPECT_EQ(r.post("/3gpp-nidd/v1/as1/configurations/999/downlink-data-deliveries", "{}").status,
            404);
  EXPECT_EQ(r.post("/3gpp-nidd/v1/a%2Fb/configurations", "{}").status, 404);
  EXPECT_EQ(r.scef.handle("GET", kConfigurations, {}, r.now).status, 405);
  EXPECT_EQ(r.scef.handle("DELETE", config, {}, r.now).status, 204);
  EXPECT_EQ(r.send(config).status, 404);
}

}  // namespace
}  // namespace tether::nidd
