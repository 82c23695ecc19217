#include "lwm2m/json_values.hpp"

#include <gtest/gtest.h>

#include "lwm2m/format/tlv.hpp"
#include "lwm2m/model/object_registry.hpp"
#include "lwm2m/random_tree.hpp"

namespace tether::lwm2m {
namespace {

TEST(JsonValues, WritesTypedValuesByPath) {
  Tree t;
  ASSERT_TRUE(t.set(Path{30000, 0, 0}, Value("a\"b")));
  ASSERT_TRUE(t.set(Path{30000, 0, 5}, Value(Bytes{1, 2, 3})));
  ASSERT_TRUE(t.set(Path{30000, 0, 7}, Value(Objlnk{3, 0})));
  ASSERT_TRUE(t.set(Path{30000, 0, 6}, Value(Time{1700000000})));
  ASSERT_TRUE(t.set(Path{30000, 0, 10, 2}, Value(-4)));
  EXPECT_EQ(records_to_json(t.records()),
            R"({"/30000/0/0":"a\"b","/30000/0/10/2":-4,"/30000/0/5":"AQID",)"
            R"("/30000/0/6":1700000000,"/30000/0/7":"3:0"})");
}

TEST(JsonValues, ReadsBackEveryTypeThroughTheModel) {
  std::mt19937_64 rng(7);
  const testing::RandomModel model;
  for (int i = 0; i < 100; ++i) {
    const auto records = testing::random_tree(rng).records();
    auto back = records_from_json(records_to_json(records), model);
    ASSERT_TRUE(back) << back.error().reason;
    EXPECT_EQ(*back, records);
  }
}

TEST(JsonValues, KeepsTimesInTheArrayForm) {
  std::vector<Record> records{{Path{3303, 0, 5700}, Value(21.5), 1.5},
                              {Path{3303, 0, 5700}, Value(22.0), 2.0}};
  auto text = records_to_json(records);
  EXPECT_EQ(text.front(), '[');
  auto back = records_from_json(text, model::Model::empty());
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, records);
}

TEST(JsonValues, RejectsWhatTheModelForbids) {
  const testing::RandomModel model;
  EXPECT_FALSE(records_from_json(R"({"/30000/0/1": 1.5})", model));  // Integer
  EXPECT_FALSE(records_from_json(R"({"/30000/0/2": -1})", model));   // Unsigned
  EXPECT_FALSE(records_from_json(R"({"/30000/0/5": "not base64!"})", model));
  EXPECT_FALSE(records_from_json(R"({"/30000/0": 1})", model));  // not a resource
  EXPECT_FALSE(records_from_json(R"({"/30000/0/1": [1]})", model));
  EXPECT_FALSE(records_from_json(R"([{"path": "/1/0/1"}])", model));
  EXPECT_FALSE(records_from_json("{", model));
}

}  // namespace
}  // namespace tether::lwm2m

namespace tether::lwm2m {
namespace {

// A private object no model knows, read as TLV: its bytes show as hex, not as base64 that
// hides a float; an Opaque resource the model knows stays base64.
TEST(JsonValues, UntypedBytesOfUnknownObjectsAreHex) {
  const auto model = model::ObjectRegistry::with_builtin();
  std::vector<Record> records{
      {Path{33000, 0, 5700}, Value(Bytes{0x42, 0x5e, 0x00, 0x00}), std::nullopt},
      {Path{5, 0, 0}, Value(Bytes{0x01, 0x02}), std::nullopt},
  };
  EXPECT_EQ(records_to_json(records, -1, &model),
            R"({"/33000/0/5700":{"hex":"425e0000"},"/5/0/0":"AQI="})");
  EXPECT_EQ(records_to_json(records), R"({"/33000/0/5700":"Ql4AAA==","/5/0/0":"AQI="})");
}

// The humidity object of the issue, now from the built-in OMA registry: its TLV float reads
// as a number with the registry's name and type.
TEST(JsonValues, RegistryObjectsReadTypedFromTlv) {
  const auto model = model::ObjectRegistry::with_builtin();
  const auto* humidity = model.object(3304);
  ASSERT_NE(humidity, nullptr);
  EXPECT_EQ(humidity->name, "Humidity");
  EXPECT_TRUE(humidity->approximate);
  // TLV: resource 5700 with a 4-byte value, 55.5 as a float.
  auto tree =
      format::tlv::decode(Path{3304, 0}, Bytes{0xe4, 0x16, 0x44, 0x42, 0x5e, 0x00, 0x00}, model);
  ASSERT_TRUE(tree) << tree.error().reason;
  EXPECT_EQ(records_to_json(tree->records(), -1, &model), R"({"/3304/0/5700":55.5})");
}

}  // namespace
}  // namespace tether::lwm2m
