// LoRaWAN regions, the simulator's radio datagram, lorawan:// URIs and ChirpStack's
// integration JSON: what a network server or a device could send us, good and bad.
#include <gtest/gtest.h>

#include "common/base64.hpp"
#include "lorawan/chirpstack.hpp"
#include "lorawan/frame.hpp"
#include "lorawan/region.hpp"

namespace tether::lorawan {
namespace {

namespace cs = chirpstack;

ByteView view(const std::string& s) {
  return ByteView(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

TEST(LorawanRegion, TimeOnAirAndDutyCycleFollowTheDataRate) {
  // Semtech's calculator: 51 octets at SF12/125 kHz take 2793 ms, 222 at SF7 369 ms.
  EXPECT_EQ(time_on_air(*data_rate(Region::kEu868, 0), 51), Duration{2794});
  EXPECT_EQ(time_on_air(*data_rate(Region::kEu868, 5), 222), Duration{369});
  EXPECT_EQ(data_rate(Region::kEu868, 3)->max_payload, 115u);
  EXPECT_EQ(data_rate(Region::kUs915, 0)->max_payload, 11u);
  EXPECT_FALSE(data_rate(Region::kEu868, 6));
  // EU868: 1 % of the time on the air.
  EXPECT_EQ(silence_after(Region::kEu868, Duration{100}), Duration{9900});
  EXPECT_EQ(silence_after(Region::kUs915, Duration{100}), Duration{0});
  EXPECT_EQ(parse_region("eu868"), Region::kEu868);
  EXPECT_FALSE(parse_region("EU433"));
}

TEST(LorawanFrame, RadioDatagramsRoundTripAndStrangeOnesAreRefused) {
  Uplink u;
  u.dev_eui = 0x0011223344556677;
  u.f_cnt = 70000;
  u.f_port = 2;
  u.confirmed = true;
  u.ack = true;
  u.dr = 4;
  u.payload = {1, 2, 3};
  auto back = decode_air_uplink(encode_air(u));
  ASSERT_TRUE(back) << back.error().reason;
  EXPECT_EQ(back->dev_eui, u.dev_eui);
  EXPECT_EQ(back->f_cnt, 70000u);
  EXPECT_EQ(back->f_port, 2);
  EXPECT_TRUE(back->confirmed && back->ack);
  EXPECT_EQ(back->payload, u.payload);
  EXPECT_FALSE(decode_air_downlink(encode_air(u)));  // an uplink is not a downlink

  Downlink d;
  d.dev_eui = 1;
  d.pending = true;  // an ACK alone: no FPort, no payload
  auto down = decode_air_downlink(encode_air(d));
  ASSERT_TRUE(down);
  EXPECT_TRUE(down->pending);
  EXPECT_FALSE(down->f_port);

  Bytes bytes = encode_air(u);
  EXPECT_FALSE(decode_air_uplink(ByteView(bytes.data(), 10)));  // truncated
  Bytes port_zero = bytes;
  port_zero[17] = 0;
  EXPECT_FALSE(decode_air_uplink(port_zero));
  Bytes flags = bytes;
  flags[16] |= 0x40;
  EXPECT_FALSE(decode_air_uplink(flags));
  Bytes huge = bytes;
  huge.resize(kMaxAirDatagram + 1);
  EXPECT_FALSE(decode_air_uplink(huge));
  Bytes no_port = bytes;
  no_port[16] &= static_cast<std::uint8_t>(~8);  // a payload without an FPort
  EXPECT_FALSE(decode_air_uplink(no_port));
}

TEST(LorawanFrame, ServerUrisAreFPorts) {
  EXPECT_EQ(port_of_uri("lorawan://2"), 2);
  EXPECT_EQ(port_of_uri("LoRaWAN://223/"), 223);
  EXPECT_FALSE(port_of_uri("lorawan://0"));
  EXPECT_FALSE(port_of_uri("lorawan://224"));
  EXPECT_FALSE(port_of_uri("lorawan://1000"));
  EXPECT_FALSE(port_of_uri("lorawan://x"));
  EXPECT_FALSE(port_of_uri("coap://2"));
  EXPECT_EQ(parse_dev_eui("0011AABBccddeeff"), 0x0011aabbccddeeffull);
  EXPECT_FALSE(parse_dev_eui("0011AABBccddeef"));
  EXPECT_EQ(dev_eui_text(0x0011aabbccddeeffull), "0011aabbccddeeff");
}

TEST(ChirpstackJson, ReadsAnUplinkAsChirpStackPublishesIt) {
  auto topic = cs::parse_topic("application/4c1e/device/0102030405060708/event/up");
  ASSERT_TRUE(topic) << topic.error().reason;
  EXPECT_EQ(topic->application, "4c1e");
  EXPECT_FALSE(topic->command);
  // ChirpStack v4's JSON marshaler, with fields we do not need.
  const std::string json = R"({"deduplicationId":"a8f4a6b8-2b34-4a42-9b0e-6d8c1e0f0001",
    "time":"2026-12-07T20:00:00Z","deviceInfo":{"tenantId":"t","applicationId":"4c1e",
    "deviceName":"meter","devEui":"0102030405060708","tags":{}},"devAddr":"01020304",
    "adr":true,"dr":5,"fCnt":42,"fPort":2,"confirmed":true,"data":"QAEAAQ==",
    "rxInfo":[{"gatewayId":"0016c001ff10a235","rssi":-57,"snr":10}],
    "txInfo":{"frequency":868100000}})";
  auto e = cs::parse_event(*topic, view(json));
  ASSERT_TRUE(e) << e.error().reason;
  ASSERT_TRUE(*e);
  const auto& up = std::get<cs::UplinkEvent>(**e);
  EXPECT_EQ(up.dev_eui, 0x0102030405060708u);
  EXPECT_EQ(up.f_cnt, 42u);
  EXPECT_EQ(up.f_port, 2);
  EXPECT_TRUE(up.confirmed);
  EXPECT_EQ(up.dr, 5);
  EXPECT_EQ(up.data, (Bytes{0x40, 0x01, 0x00, 0x01}));
  // Our own rendering reads back the same.
  auto again = cs::parse_event(*topic, view(cs::to_json(up, "4c1e")));
  ASSERT_TRUE(again && *again);
  EXPECT_EQ(std::get<cs::UplinkEvent>(**again).data, up.data);
}

TEST(ChirpstackJson, RefusesWhatDoesNotAddUp) {
  auto topic = *cs::parse_topic("application/a/device/0102030405060708/event/up");
  auto bad = [&](const std::string& json) { return !cs::parse_event(topic, view(json)); };
  EXPECT_TRUE(bad("not json"));
  EXPECT_TRUE(bad("[1,2]"));
  EXPECT_TRUE(bad(R"({"deviceInfo":{"devEui":"0102030405060709"},"fPort":2})"));  // another device
  EXPECT_TRUE(bad(R"({"fPort":0,"data":""})"));
  EXPECT_TRUE(bad(R"({"fPort":224})"));
  EXPECT_TRUE(bad(R"({"fPort":-3})"));
  EXPECT_TRUE(bad(R"({"fPort":2.5})"));
  EXPECT_TRUE(bad(R"({"fPort":2,"fCnt":1e30})"));
  EXPECT_TRUE(bad(R"({"fPort":2,"data":"***"})"));
  EXPECT_TRUE(bad(R"({"fPort":2,"dr":99})"));
  EXPECT_TRUE(bad(R"({"fPort":2,"deduplicationId":"\u0001"})"));
  const std::string long_data(400, 'A');
  EXPECT_TRUE(bad(R"({"fPort":2,"data":")" + long_data + "\"}"));
  // Kinds we do not use are not errors.
  auto join = *cs::parse_topic("application/a/device/0102030405060708/event/join");
  auto j = cs::parse_event(join, view("{}"));
  ASSERT_TRUE(j);
  EXPECT_FALSE(*j);

  EXPECT_FALSE(cs::parse_topic("application/a/device/01020304050607/event/up"));
  EXPECT_FALSE(cs::parse_topic("application/a/device/0102030405060708/event/up/x"));
  EXPECT_FALSE(cs::parse_topic("application/a+b/device/0102030405060708/event/up"));
  EXPECT_FALSE(cs::parse_topic("application//device/0102030405060708/event/up"));
  EXPECT_FALSE(cs::parse_topic("app/a/device/0102030405060708/event/up"));
}

TEST(ChirpstackJson, CommandsAndReportsRoundTrip) {
  cs::DownlinkCommand c;
  c.id = "0b6b8b1e-0000-4000-8000-000000000001";
  c.dev_eui = 0xa1;
  c.confirmed = true;
  c.f_port = 9;
  c.data = {0x40, 0x02};
  auto topic = cs::parse_topic(cs::command_topic("app", c.dev_eui));
  ASSERT_TRUE(topic && topic->command);
  auto back = cs::parse_command(*topic, view(cs::to_json(c)));
  ASSERT_TRUE(back) << back.error().reason;
  EXPECT_EQ(back->id, c.id);
  EXPECT_TRUE(back->confirmed);
  EXPECT_EQ(back->f_port, 9);
  EXPECT_EQ(back->data, c.data);

  cs::AckEvent ack;
  ack.dev_eui = 0xa1;
  ack.queue_item_id = c.id;
  ack.acknowledged = false;
  auto ack_topic = *cs::parse_topic(cs::event_topic("app", 0xa1, "ack"));
  auto e = cs::parse_event(ack_topic, view(cs::to_json(ack, "app")));
  ASSERT_TRUE(e && *e);
  EXPECT_EQ(std::get<cs::AckEvent>(**e).queue_item_id, c.id);
  EXPECT_FALSE(std::get<cs::AckEvent>(**e).acknowledged);

  cs::LogEvent log;
  log.dev_eui = 0xa1;
  log.level = "ERROR";
  log.code = "DOWNLINK_PAYLOAD_SIZE";
  log.queue_item_id = c.id;
  auto log_topic = *cs::parse_topic(cs::event_topic("app", 0xa1, "log"));
  auto l = cs::parse_event(log_topic, view(cs::to_json(log, "app")));
  ASSERT_TRUE(l && *l);
  EXPECT_EQ(std::get<cs::LogEvent>(**l).queue_item_id, c.id);
}

}  // namespace
}  // namespace tether::lorawan
