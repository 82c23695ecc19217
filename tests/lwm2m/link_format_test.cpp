// link-format: RFC 6690 parsing, the registration payload of Transport TS 6.4.1 (with and
// without an alternate path) and Discover answers with dim= and attributes.
#include "lwm2m/format/link_format.hpp"

#include <gtest/gtest.h>

namespace tether::lwm2m::format::link_format {
namespace {

TEST(LinkFormat, ParsesParametersQuotedStringsAndBareNames) {
  auto links = parse(R"(</>;rt="oma.lwm2m";ct="60 110",</1/0>;obs,</3>;ver=1.1;title="a\"b,c")");
  ASSERT_TRUE(links) << links.error().reason;
  ASSERT_EQ(links->size(), 3U);
  EXPECT_EQ((*links)[0].target, "/");
  EXPECT_EQ((*links)[0].param("ct")->value, "60 110");
  EXPECT_FALSE((*links)[1].param("obs")->value.has_value());
  EXPECT_EQ((*links)[2].param("title")->value, "a\"b,c");
  auto again = parse(serialize(*links));
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *links);
}

TEST(LinkFormat, RefusesMalformedLinks) {
  for (const char* bad : {"/1/0", "</1/0", "</1/0>;", "</1/0>;ver=", "</1/0>,", "</1/0>;t=\"x",
                          "</1/0> </3/0>", "</1/0>;=1"}) {
    EXPECT_FALSE(parse(bad).ok()) << bad;
  }
  EXPECT_TRUE(parse("").ok());
}

TEST(Registration, ReadsObjectsInstancesVersionsAndFormats) {
  auto p = parse_registration(
      R"(</>;rt="oma.lwm2m";ct=11543,</1>;ver=1.1,</1/0>,</3/0>,</5>,</3303/1>,</3303/0>)");
  ASSERT_TRUE(p) << p.error().reason;
  EXPECT_EQ(p->alternate_path, "/");
  EXPECT_EQ(p->content_formats, (std::vector<std::uint16_t>{11543}));
  ASSERT_EQ(p->objects.size(), 4U);
  EXPECT_EQ(p->objects[0], (RegisteredObject{1, "1.1", {0}}));
  EXPECT_EQ(p->objects[1], (RegisteredObject{3, "", {0}}));
  EXPECT_EQ(p->objects[2], (RegisteredObject{5, "", {}}));
  EXPECT_EQ(p->objects[3], (RegisteredObject{3303, "", {0, 1}}));
  EXPECT_EQ(serialize_registration(*p),
            R"(</>;rt="oma.lwm2m";ct=11543,</1>;ver=1.1,</1/0>,</3/0>,</5>,</3303/0>,</3303/1>)");
}

TEST(Registration, ResolvesLinksUnderAnAlternatePath) {
  auto p = parse_registration(R"(</lwm2m/>;rt="oma.lwm2m";ct="110 112",</lwm2m/1/0>,</lwm2m/3/0>)");
  ASSERT_TRUE(p) << p.error().reason;
  EXPECT_EQ(p->alternate_path, "/lwm2m");
  EXPECT_EQ(p->content_formats, (std::vector<std::uint16_t>{110, 112}));
  ASSERT_EQ(p->objects.size(), 2U);
  auto again = parse_registration(serialize_registration(*p));
  ASSERT_TRUE(again) << again.error().reason;
  EXPECT_EQ(*again, *p);
  // Without any rt link, the plain LwM2M 1.0 payload.
  auto plain = parse_registration("</1/0>,</3/0>");
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->alternate_path_link);
  EXPECT_EQ(serialize_registration(*plain), "</1/0>,</3/0>");
}

TEST(Registration, RefusesLinksThatAreNotObjectsOrInstances) {
  for (const char* bad :
       {"</3/0/1>", "</a/0>", "</lwm2m>;rt=\"oma.lwm2m\",</3/0>", "</1/0>,</1/0>", "</1>;ver=one",
        "</>;rt=\"oma.lwm2m\";ct=x,</1/0>", "</>;rt=\"oma.lwm2m\",</x>;rt=\"oma.lwm2m\""}) {
    EXPECT_FALSE(parse_registration(bad).ok()) << bad;
  }
}

TEST(Discover, WritesAndReadsDimVersionAndAttributes) {
  DiscoverEntry object{Path{3}, "1.2", std::nullopt, {}};
  DiscoverEntry instance{Path{3, 0}, "", std::nullopt, {}};
  instance.attributes.set(Attribute::kPmin, 10);
  DiscoverEntry battery{Path{3, 0, 9}, "", std::nullopt, {}};
  battery.attributes.set(Attribute::kGt, 45);
  battery.attributes.set(Attribute::kSt, 2.5);
  DiscoverEntry sources{Path{3, 0, 6}, "", 2, {}};
  const std::vector<DiscoverEntry> entries{object, instance, sources, battery};
  const std::string text = serialize_discover(entries);
  EXPECT_EQ(text, "</3>;ver=1.2,</3/0>;pmin=10,</3/0/6>;dim=2,</3/0/9>;gt=45;st=2.5");
  auto back = parse_discover(text);
  ASSERT_TRUE(back) << back.error().reason;
  EXPECT_EQ(*back, entries);
  EXPECT_FALSE(parse_discover("</3/0/9>;gt=abc"));
  EXPECT_FALSE(parse_discover("</3/0/9>;zz=1"));
  EXPECT_FALSE(parse_discover("</>;pmin=1"));
}

// Core TS 5.2.7.3: the version rides on the root link, as Leshan, Anjay and Wakaama send it.
TEST(BootstrapDiscover, ReadsTheRootLinkOtherClientsSend) {
  auto d = parse_bootstrap_discover(
      "</>;lwm2m=1.1,</0/0>,</0/1>;ssid=101;uri=\"coaps://s1\",</1>;ver=1.1,</1/0/>;ssid=101,"
      "</3>;ver=1.1,</3/0>");
  ASSERT_TRUE(d) << d.error().reason;
  EXPECT_EQ(d->version, "1.1");
  ASSERT_EQ(d->links.size(), 6u);
  EXPECT_EQ(d->links[0], (BootstrapLink{Path{0, 0}, std::nullopt, ""}));
  EXPECT_EQ(d->links[1], (BootstrapLink{Path{0, 1}, 101, "coaps://s1"}));
  EXPECT_EQ(d->links[3], (BootstrapLink{Path{1, 0}, 101, ""}));
  // A quoted version (Wakaama with 1.0) and the bare element of early 1.1 drafts.
  EXPECT_EQ(parse_bootstrap_discover("</>;lwm2m=\"1.0\",</0/0>")->version, "1.0");
  EXPECT_EQ(parse_bootstrap_discover("lwm2m=\"1.1\",</0/0>")->version, "1.1");
  EXPECT_FALSE(parse_bootstrap_discover("</>;lwm2m=x,</0/0>"));
  EXPECT_FALSE(parse_bootstrap_discover("</0/0>,</>;lwm2m=1.1"));
}

TEST(BootstrapDiscover, WritesTheVersionOnTheRootLink) {
  BootstrapDiscovery d{"1.2", {{Path{0, 0}, std::nullopt, ""}, {Path{0, 1}, 101, "coap://s"}}};
  const std::string text = serialize_bootstrap_discover(d);
  EXPECT_EQ(text, "</>;lwm2m=1.2,</0/0>,</0/1>;ssid=101;uri=\"coap://s\"");
  EXPECT_EQ(*parse_bootstrap_discover(text), d);
}

}  // namespace
}  // namespace tether::lwm2m::format::link_format
