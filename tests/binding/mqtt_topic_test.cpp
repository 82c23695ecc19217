// Transport TS 8.2-8.3: LwM2M topics on an MQTT server, and names that cannot be topics.
#include <gtest/gtest.h>

#include "binding/mqtt/topic.hpp"

namespace tether::binding::mqtt {
namespace {

TEST(MqttTopic, NamesFollowTheSectionsStructure) {
  EXPECT_EQ(topic_name({"tenant-a", Interface::kBootstrap, "b1cccdea"}),
            "tenant-a/lwm2m/bs/b1cccdea");
  EXPECT_EQ(topic_name({"", Interface::kRegistration, "dev1"}), "lwm2m/rd/dev1");
  EXPECT_EQ(topic_name({"eu/tenant-a", Interface::kRegistration, "urn:imei:1"}),
            "eu/tenant-a/lwm2m/rd/urn:imei:1");
  EXPECT_EQ(server_subscription("tenant-a", Interface::kRegistration), "tenant-a/lwm2m/rd/+");
  EXPECT_EQ(server_subscription("", Interface::kBootstrap), "lwm2m/bs/+");
}

TEST(MqttTopic, ParsingGivesBackWhatWasNamed) {
  for (const Topic& t : {Topic{"tenant-a", Interface::kBootstrap, "b1"},
                         Topic{"", Interface::kRegistration, "dev-ø"},
                         Topic{"a/b", Interface::kRegistration, "x"}}) {
    auto back = parse_topic(topic_name(t), t.prefix);
    ASSERT_TRUE(back) << topic_name(t) << ": " << back.error().reason;
    EXPECT_EQ(*back, t);
  }
}

TEST(MqttTopic, ForeignAndMalformedTopicsAreRefused) {
  for (const char* t : {"tenant-b/lwm2m/rd/dev1",  // another tenant
                        "tenant-a/lwm2m/xx/dev1",  // neither bs nor rd
                        "tenant-a/lwm2m/rd/",      // no endpoint
                        "tenant-a/lwm2m/rd/a/b",   // an extra level
                        "tenant-a/lwm2m/rd/a+b",   // a wildcard in the name
                        "tenant-a/other/rd/dev1",  // not the lwm2m namespace
                        "tenant-a/lwm2m/rd"}) {    // too short
    EXPECT_FALSE(parse_topic(t, "tenant-a")) << t;
  }
  EXPECT_FALSE(parse_topic(std::string("tenant-a/lwm2m/rd/a\x01") + "b", "tenant-a"));
  EXPECT_FALSE(parse_topic("tenant-a/lwm2m/rd/\xc3\x28", "tenant-a"));  // not UTF-8
}

TEST(MqttTopic, PrefixesAndEndpointsAreChecked) {
  EXPECT_TRUE(check_prefix(""));
  EXPECT_TRUE(check_prefix("tenant-a"));
  EXPECT_TRUE(check_prefix("eu/tenant-a"));
  for (const char* p : {"$SYS", "a//b", "/a", "a/", "a/+", "#", "a\tb"}) {
    EXPECT_FALSE(check_prefix(p)) << p;
  }
  EXPECT_TRUE(check_topic_endpoint("urn:uuid:b1cccdea-22ca-4448-bcf7-d07317ee0361"));
  for (const char* e : {"", "a/b", "a+", "#", "a\nb"}) EXPECT_FALSE(check_topic_endpoint(e)) << e;
  EXPECT_FALSE(check_topic_endpoint(std::string(300, 'e')));
}

}  // namespace
}  // namespace tether::binding::mqtt
