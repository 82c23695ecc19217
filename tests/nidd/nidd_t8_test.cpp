// The T8 NIDD API's JSON (3GPP TS 29.122) as an SCEF sends it and as we send it, good and
// hostile; and Appendix D.8's timer checks with the 24.008 timer encodings.
#include <gtest/gtest.h>

#include "nidd/psm_timers.hpp"
#include "nidd/t8.hpp"

namespace tether::nidd {
namespace {

ByteView view(const std::string& s) {
  return ByteView(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

TEST(NiddT8, ReadsTheNotificationsAnScefSends) {
  auto up = parse_notification(view(
      R"({"niddConfiguration":"https://scef.example/3gpp-nidd/v1/as1/configurations/7",
          "externalId":"meter-1@iot.example","data":"QAEAAQ==","reliableDataService":false})"));
  ASSERT_TRUE(up) << up.error().reason;
  const auto& u = std::get<UplinkNotification>(*up);
  EXPECT_EQ(u.ue.external_id, "meter-1@iot.example");
  EXPECT_EQ(u.data, (Bytes{0x40, 0x01, 0x00, 0x01}));

  auto status = parse_notification(view(
      R"({"niddDownlinkDataTransfer":"https://scef.example/x/downlink-data-deliveries/3",
          "deliveryStatus":"SUCCESS_NEXT_HOP_ACKNOWLEDGED"})"));
  ASSERT_TRUE(status);
  EXPECT_TRUE(is_success(std::get<DeliveryStatusNotification>(*status).delivery_status));

  auto config = parse_notification(view(
      R"({"niddConfiguration":"https://scef.example/c/7","msisdn":"4915550001",
          "status":"TERMINATED"})"));
  ASSERT_TRUE(config);
  EXPECT_EQ(std::get<ConfigurationStatusNotification>(*config).status, "TERMINATED");

  // Our own rendering reads back.
  auto again = parse_notification(view(to_json(Notification(u))));
  ASSERT_TRUE(again);
  EXPECT_EQ(std::get<UplinkNotification>(*again).data, u.data);
}

TEST(NiddT8, RefusesHostileJson) {
  auto bad = [](const std::string& json) { return !parse_notification(view(json)); };
  EXPECT_TRUE(bad("nope"));
  EXPECT_TRUE(bad(R"({"niddConfiguration":"c","data":"QQ=="})"));  // no UE
  EXPECT_TRUE(bad(R"({"niddConfiguration":"c","externalId":"a@b","msisdn":"4915550001",
                      "data":"QQ=="})"));                          // both
  EXPECT_TRUE(bad(R"({"niddConfiguration":"c","externalId":"no-at","data":"QQ=="})"));
  EXPECT_TRUE(bad(R"({"niddConfiguration":"c","msisdn":"12","data":"QQ=="})"));
  EXPECT_TRUE(bad(R"({"niddConfiguration":"c","externalId":"a@b","data":"***"})"));
  EXPECT_TRUE(bad(R"({"niddConfiguration":"c","externalId":"a@b","data":""})"));
  EXPECT_TRUE(bad(R"({"niddConfiguration":7,"externalId":"a@b","data":"QQ=="})"));
  EXPECT_TRUE(bad(R"({"niddConfiguration":"\u0000","externalId":"a@b","data":"QQ=="})"));
  EXPECT_TRUE(bad(R"({"niddDownlinkDataTransfer":"t"})"));  // no status
  const std::string huge(2000, 'A');
  EXPECT_TRUE(bad(R"({"niddConfiguration":"c","externalId":"a@b","data":")" + huge + "\"}"));
}

TEST(NiddT8, ConfigurationsAndDeliveriesRoundTrip) {
  Configuration c;
  c.ue.external_id = "dev@iot.example";
  c.notification_destination = "http://127.0.0.1:9000/nidd";
  c.maximum_packet_size = 1358;
  auto back = parse_configuration(view(to_json(c)));
  ASSERT_TRUE(back) << back.error().reason;
  EXPECT_EQ(back->maximum_packet_size, 1358u);  // octets; bits on the wire
  EXPECT_EQ(back->notification_destination, c.notification_destination);
  EXPECT_FALSE(parse_configuration(view(R"({"externalId":"dev@iot.example"})")));

  DownlinkTransfer t;
  t.ue.msisdn = "4915550001";
  t.data = {1, 2, 3};
  t.maximum_latency_s = 600;
  auto d = parse_downlink_transfer(view(to_json(t)));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->data, t.data);
  EXPECT_EQ(d->maximum_latency_s, 600u);
  // The SCEF's answer names the delivery and its status, without the data.
  DownlinkTransfer answer;
  answer.ue = t.ue;
  answer.self = "http://127.0.0.1:8090/3gpp-nidd/v1/as/configurations/1/downlink-data-deliveries/2";
  answer.delivery_status = "SUCCESS";
  auto a = parse_downlink_transfer(view(to_json(answer)));
  ASSERT_TRUE(a) << a.error().reason;
  EXPECT_TRUE(a->data.empty());
  EXPECT_TRUE(is_success(a->delivery_status));
  EXPECT_EQ(ue_from_key(t.ue.key()), t.ue);
  EXPECT_FALSE(ue_from_key("ext:nope"));
  EXPECT_TRUE(is_buffering("BUFFERING_TEMPORARILY_NOT_REACHABLE"));
  EXPECT_TRUE(is_failure("FAILURE_TIMEOUT"));
}

TEST(NiddTimers, Encodes24008Timers) {
  // The finest unit that holds the value: exact where the value allows, else rounded up.
  EXPECT_EQ(encode_t3412(Duration{3'600'000}), "00000110");      // 1 h as 6 x 10 min
  EXPECT_EQ(encode_t3412(Duration{54 * 60'000}), "00000110");    // 54 min up to 60
  EXPECT_EQ(encode_t3412(Duration{6 * 3'600'000}), "00100110");  // 6 h: 36 x 10 min is too many
  EXPECT_EQ(encode_t3324(Duration{60'000}), "00011110");         // 30 x 2 s
  EXPECT_EQ(encode_t3324(Duration{10'000}), "00000101");         // 5 x 2 s
  for (auto d : {Duration{2'000}, Duration{3'600'000}, Duration{36'000'000}}) {
    EXPECT_EQ(decode_t3412(*encode_t3412(d)), d);
  }
  EXPECT_EQ(decode_t3412("00100001"), Duration{3'600'000});
  EXPECT_EQ(decode_t3324("00000101"), Duration{10'000});
  EXPECT_FALSE(decode_t3324("11100000"));  // deactivated
  EXPECT_FALSE(decode_t3412("0010000"));
  EXPECT_FALSE(encode_t3324(Duration{4'000'000'000}));  // over 31 decihours
}

TEST(NiddTimers, SaysWhatContradicts) {
  PsmSettings psm;
  psm.periodic_tau = Duration{3'600'000};
  psm.active_time = Duration{60'000};
  Lwm2mTimers good;
  good.lifetime = Duration{3'000'000};  // each Update comes before the TAU, and restarts it
  good.queue_mode = true;
  good.awake_time = Duration{60'000};
  good.ack_timeout = Duration{2'000};
  good.max_retransmit = 2;  // 2 x 7 x 1.5 = 21 s within the active time
  EXPECT_TRUE(check_timers(psm, good).empty());

  Lwm2mTimers bad = good;
  bad.lifetime = Duration{86'400'000};  // a TAU every hour between daily Updates
  bad.awake_time = Duration{93'000};
  bad.max_retransmit = 4;
  psm.edrx_cycle = Duration{20'480};
  const auto warnings = check_timers(psm, bad);
  ASSERT_EQ(warnings.size(), 4u);
  EXPECT_NE(warnings[0].find("periodic TAU"), std::string::npos);
  EXPECT_NE(warnings[1].find("outlasts the active time"), std::string::npos);
  EXPECT_NE(warnings[2].find("retransmissions"), std::string::npos);
  EXPECT_NE(warnings[3].find("eDRX"), std::string::npos);
}

}  // namespace
}  // namespace tether::nidd
