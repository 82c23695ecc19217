// text/plain, octet-stream and the LwM2M 1.0 JSON format.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "lwm2m/format/old_json.hpp"
#include "lwm2m/format/text.hpp"
#include "lwm2m/random_tree.hpp"
#include "support/builtin_registry.hpp"

namespace tether::lwm2m::format {
namespace {

using test_support::builtin_registry;

Bytes bytes_of(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

Tree single(const Path& p, Value v) {
  Tree t;
  EXPECT_TRUE(t.set(p, std::move(v)));
  return t;
}

TEST(TextFormat, CarriesOneValueTypedByTheModel) {
  const auto& model = builtin_registry();
  auto time = text::decode(Path{3, 0, 13}, bytes_of("1700000000"), model);
  ASSERT_TRUE(time) << time.error().reason;
  EXPECT_EQ(*time, single(Path{3, 0, 13}, Value(Time{1700000000})));
  auto link = text::decode(Path{3, 0, 22, 1}, bytes_of("3303:2"), model);
  ASSERT_TRUE(link) << link.error().reason;
  EXPECT_EQ(*link, single(Path{3, 0, 22, 1}, Value(Objlnk{3303, 2})));
  auto written = text::encode(Path{3, 0, 9}, single(Path{3, 0, 9}, Value(87)), model);
  ASSERT_TRUE(written);
  EXPECT_EQ(*written, bytes_of("87"));
  // Opaque resources travel base64-encoded in text.
  auto opaque = text::encode(Path{5, 0, 0}, single(Path{5, 0, 0}, Value(Bytes{1, 2, 3})), model);
  ASSERT_TRUE(opaque);
  EXPECT_EQ(*opaque, bytes_of("AQID"));
}

TEST(TextFormat, RefusesWhatTheResourceCannotHold) {
  const auto& model = builtin_registry();
  EXPECT_FALSE(text::decode(Path{3, 0, 9}, bytes_of("12a"), model));
  EXPECT_FALSE(text::decode(Path{3, 0, 9}, bytes_of("1.5"), model));
  EXPECT_FALSE(text::decode(Path{1, 0, 6}, bytes_of("true"), model));
  EXPECT_FALSE(text::decode(Path{3, 0}, bytes_of("1"), model));
  EXPECT_FALSE(text::decode(Path{3, 0, 0}, Bytes{0xc3, 0x28}, model));
}

TEST(TextFormat, RandomValuesOfEveryTypeRoundTrip) {
  std::mt19937_64 rng(0);
  const testing::RandomModel model;
  for (int i = 0; i < 500; ++i) {
    const auto rid = static_cast<std::uint16_t>(i % 10);
    const Path path{30000, 0, rid};
    const Tree tree = single(path, testing::random_value(rng, testing::RandomModel::type_of(rid)));
    auto bytes = text::encode(path, tree, model);
    ASSERT_TRUE(bytes) << bytes.error().reason;
    auto back = text::decode(path, *bytes, model);
    ASSERT_TRUE(back) << back.error().reason;
    ASSERT_EQ(*back, tree) << path.to_string();
  }
}

TEST(OpaqueFormat, CarriesOnlyOpaqueResources) {
  const auto& model = builtin_registry();
  const Bytes firmware{0x00, 0xff, 0x10};
  auto tree = opaque::decode(Path{5, 0, 0}, firmware, model);
  ASSERT_TRUE(tree) << tree.error().reason;
  EXPECT_EQ(*tree, single(Path{5, 0, 0}, Value(firmware)));
  auto bytes = opaque::encode(Path{5, 0, 0}, *tree, model);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(*bytes, firmware);
  EXPECT_FALSE(opaque::decode(Path{3, 0, 9}, firmware, model));
}

TEST(OldJson, DecodesTheLwm2m10DeviceExample) {
  const std::string payload = R"({"bn":"/3/0/","e":[
    {"n":"0","sv":"Open Mobile Alliance"},
    {"n":"6/0","v":1},{"n":"6/1","v":5},
    {"n":"9","v":100},
    {"n":"13","v":1367491215},
    {"n":"22/0","ov":"3303:0"}]})";
  auto tree = old_json::decode(Path{3, 0}, bytes_of(payload), builtin_registry());
  ASSERT_TRUE(tree) << tree.error().reason;
  EXPECT_EQ(tree->leaf_count(), 6U);
  EXPECT_EQ(*tree->find_value(Path{3, 0, 0}), Value("Open Mobile Alliance"));
  EXPECT_EQ(*tree->find_value(Path{3, 0, 6, 1}), Value(5));
  EXPECT_EQ(*tree->find_value(Path{3, 0, 13}), Value(Time{1367491215}));
  EXPECT_EQ(*tree->find_value(Path{3, 0, 22, 0}), Value(Objlnk{3303, 0}));
}

TEST(OldJson, ReadsTimesAndOpaqueAsStrings) {
  const std::string payload =
      R"({"bn":"/","bt":100,"e":[{"n":"5/0/0","sv":"AQID"},{"n":"3303/0/5700","v":21.5,"t":-5}]})";
  auto records = old_json::decode_records(bytes_of(payload), builtin_registry());
  ASSERT_TRUE(records) << records.error().reason;
  ASSERT_EQ(records->size(), 2U);
  EXPECT_EQ((*records)[0].value, Value(Bytes{1, 2, 3}));
  EXPECT_EQ((*records)[1], (Record{Path{3303, 0, 5700}, Value(21.5), 95.0}));
}

TEST(OldJson, RefusesMalformedPayloads) {
  const char* bad[] = {
      R"([{"n":"9","v":1}])",                               // not an object
      R"({"bn":"/3/0/"})",                                  // no entries
      R"({"bn":"/3/0/","e":[{"n":"9"}]})",                  // no value
      R"({"bn":"/3/0/","e":[{"n":"9","v":1,"bv":true}]})",  // two values
      R"({"bn":"/3/0/","e":[{"n":"9","v":1,"q":1}]})",      // unknown field
      R"({"bn":"/3/0/","e":[{"n":"22/0","ov":"x"}]})",      // bad object link
      R"({"bn":"/3/0/","e":[{"n":"9","v":1}])",             // truncated
  };
  for (const char* payload : bad) {
    EXPECT_FALSE(old_json::decode(Path{3, 0}, bytes_of(payload), builtin_registry()).ok())
        << payload;
  }
}

}  // namespace
}  // namespace tether::lwm2m::format
