// Transport TS 8.3-8.7: the CBOR maps of the MQTT binding. Expected bytes come from the
// section's own examples, encoded by an independent CBOR library (Python's cbor2,
// `cbor2.dumps(..., canonical=True)`), not by ours.
#include <gtest/gtest.h>

#include "binding/mqtt/mqtt_payload.hpp"
#include "support/hex_bytes.hpp"

namespace tether::binding::mqtt {
namespace {

using test_support::hex;

TEST(MqttPayload, TheSectionsExamplesEncodeByteForByte) {
  Payload bootstrap_request;  // 8.3.1: {1: 0, 2: 42}
  bootstrap_request.operation = opcode::kBootstrapRequest;
  bootstrap_request.token = 42;
  EXPECT_EQ(to_hex(encode(bootstrap_request)), "a2010002182a");

  Payload read;  // 8.3.3: {1: 9, 2: 56, 5: "/3/0/0"}
  read.operation = opcode::kRead;
  read.token = 56;
  read.uri = "/3/0/0";
  EXPECT_EQ(to_hex(encode(read)), "a3010902183805662f332f302f30");
  auto back = decode(encode(read));
  ASSERT_TRUE(back) << back.error().reason;
  EXPECT_EQ(*back, read);
}

TEST(MqttPayload, WriteAttributesCarryFloatsAndOurKeyForLt) {
  Payload p;
  p.operation = opcode::kWriteAttributes;
  p.token = 7;
  p.uri = "/3303/0/5700";
  p.pmin = 10;
  p.gt = 25.5;
  p.edge = true;
  p.lt = -4.25;  // key 23: table 8.7 has none for lt
  EXPECT_EQ(to_hex(encode(p)), "a7010e0207056c2f333330332f302f353730300c0a0ef94e60140117f9c440");
  auto back = decode(encode(p));
  ASSERT_TRUE(back) << back.error().reason;
  EXPECT_EQ(*back, p);
}

TEST(MqttPayload, EveryFieldRoundTrips) {
  Payload p;
  p.operation = opcode::kRegister;
  p.token = 0xffffffffffffffffULL;
  p.endpoint = "urn:dev:ops:0004A3-sensor-ø";
  p.preferred_content_format = 112;
  p.uri = "/1/0";
  p.paths = hex("81a10064");
  p.payload = to_bytes("</1/0>,</3/0>");
  p.lifetime = 86400;
  p.version = "1.2";
  p.binding = "M";
  p.sms = "+15550100";
  p.profile_id = "p1";
  p.pmin = 1;
  p.pmax = 60;
  p.gt = 1e300;
  p.lt = 0.1;
  p.st = 2;
  p.epmin = 0;
  p.epmax = 5;
  p.edge = false;
  p.hqmax = 100;
  p.depth = 3;
  p.content_type = 11542;
  p.queue_mode = true;
  auto back = decode(encode(p));
  ASSERT_TRUE(back) << back.error().reason;
  EXPECT_EQ(*back, p);

  Payload response;  // 8.4: result instead of operation
  response.result = 205;
  response.token = 56;
  response.content_type = 0;
  response.payload = to_bytes("Tether");
  auto r = decode(encode(response));
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, response);
}

TEST(MqttPayload, ExtensionsAreSkippedAndFloatKeysTakeIntegers) {
  // {1: 9, 2: 1, 99: [1, {"x": h'00'}], 14: 5, 15: -2, 30: "future"}
  auto q = decode(hex("a60109020118638201a1617841000e050f21181e66667574757265"));
  ASSERT_TRUE(q) << q.error().reason;
  EXPECT_EQ(q->operation, opcode::kRead);
  EXPECT_EQ(q->gt, 5.0);
  EXPECT_EQ(q->st, -2.0);
}

TEST(MqttPayload, HostileMapsAreRefused) {
  const char* refused[] = {
      "",                // nothing
      "82010002",        // an array, not a map
      "a2010002",        // truncated: the second pair has no value
      "a1010000",        // a byte after a one-pair map
      "a201000100",      // key 1 twice
      "a161610a",        // a text key
      "a1200a",          // a negative key
      "a10161",          // operation as text (truncated text too)
      "a1016161",        // operation as text
      "a10541ff",        // uri as bytes
      "a10562c328",      // uri not UTF-8
      "a1071864",        // payload as an integer
      "a11402",          // edge 2
      "a11604",          // depth 4
      "a10e6161",        // gt as text
      "a2010002182aff",  // a break after a definite map
      "a2010002182a00",  // a byte after the map
      "bf0100",          // an open-ended map without its break
      "a118639f9f9f9f9f9f9f9f9f9f01ffffffffffffffffffff",  // an extension nested too deep
  };
  for (const char* h : refused) {
    EXPECT_FALSE(decode(hex(h))) << h;
  }
  // Nesting within the bound is fine; an open-ended map with its break too.
  EXPECT_TRUE(decode(hex("a118639f9f9f01ffffff")));
  auto open = decode(hex("bf0100021818ff"));
  ASSERT_TRUE(open) << open.error().reason;
  EXPECT_EQ(open->token, 24u);
}

}  // namespace
}  // namespace tether::binding::mqtt
