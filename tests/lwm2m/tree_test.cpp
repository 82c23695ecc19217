#include "lwm2m/tree.hpp"

#include <gtest/gtest.h>

#include "common/base64.hpp"
#include "lwm2m/path.hpp"
#include "lwm2m/value.hpp"

namespace tether::lwm2m {
namespace {

TEST(Path, ParsesEveryDepth) {
  EXPECT_EQ(Path::parse("/")->depth(), 0);
  EXPECT_EQ(Path::parse("/3")->depth(), 1);
  EXPECT_EQ(Path::parse("/3/0/")->depth(), 2);
  auto p = Path::parse("/3/0/7/2");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->object_id(), 3);
  EXPECT_EQ(p->resource_instance_id(), 2);
  EXPECT_EQ(p->to_string(), "/3/0/7/2");
}

TEST(Path, RejectsMalformedPaths) {
  for (const char* bad :
       {"", "3/0", "//3", "/3//0", "/a", "/-1", "/65535", "/01", "/1/2/3/4/5", "/3/0/+1", "/ 3"}) {
    EXPECT_FALSE(Path::parse(bad)) << bad;
  }
  EXPECT_TRUE(Path::parse("/65534"));
}

TEST(Path, OrdersParentsFirstAndCovers) {
  Path obj{3}, inst{3, 0}, res{3, 0, 1}, other{3, 1};
  EXPECT_LT(obj, inst);
  EXPECT_LT(inst, res);
  EXPECT_LT(res, other);
  EXPECT_TRUE(obj.covers(res));
  EXPECT_TRUE(Path().covers(obj));
  EXPECT_FALSE(other.covers(res));
  EXPECT_EQ(res.parent(), inst);
}

TEST(Value, TextFormsRoundTrip) {
  struct Case {
    Value value;
    const char* text;
  };
  const Case cases[] = {{Value("héllo"), "héllo"},
                        {Value(-42), "-42"},
                        {Value(std::uint64_t{UINT64_MAX}), "18446744073709551615"},
                        {Value(1.5), "1.5"},
                        {Value(true), "1"},
                        {Value(Bytes{1, 2, 3, 4}), "AQIDBA=="},
                        {Value(Time{1700000000}), "1700000000"},
                        {Value(Objlnk{3, 65535}), "3:65535"}};
  for (const auto& c : cases) {
    EXPECT_EQ(to_text(c.value), c.text);
    auto back = from_text(c.text, c.value.type());
    ASSERT_TRUE(back) << c.text << ": " << back.error().reason;
    EXPECT_EQ(*back, c.value) << c.text;
  }
}

TEST(Value, TextRejectsWhatTheTypeCannotHold) {
  EXPECT_FALSE(from_text("12a", ResourceType::kInteger));
  EXPECT_FALSE(from_text("+1", ResourceType::kInteger));
  EXPECT_FALSE(from_text("-1", ResourceType::kUnsignedInteger));
  EXPECT_FALSE(from_text("99999999999999999999", ResourceType::kInteger));
  EXPECT_FALSE(from_text("true", ResourceType::kBoolean));
  EXPECT_FALSE(from_text("inf", ResourceType::kFloat));
  EXPECT_FALSE(from_text("3:65536", ResourceType::kObjlnk));
  EXPECT_FALSE(from_text("3", ResourceType::kObjlnk));
  EXPECT_FALSE(from_text("AQ=", ResourceType::kOpaque));
  EXPECT_FALSE(from_text("\xc3\x28", ResourceType::kString));
  EXPECT_FALSE(from_text("\xed\xa0\x80", ResourceType::kString));  // a UTF-16 surrogate
  EXPECT_FALSE(from_text("x", ResourceType::kNone));
}

TEST(Value, ConvertsOnlyWithoutLoss) {
  EXPECT_EQ(*convert(Value(3), ResourceType::kFloat), Value(3.0));
  EXPECT_EQ(*convert(Value(3.0), ResourceType::kInteger), Value(3));
  EXPECT_EQ(*convert(Value(7), ResourceType::kTime), Value(Time{7}));
  EXPECT_EQ(*convert(Value(7), ResourceType::kUnsignedInteger), Value(std::uint64_t{7}));
  EXPECT_FALSE(convert(Value(3.5), ResourceType::kInteger));
  EXPECT_FALSE(convert(Value(-1), ResourceType::kUnsignedInteger));
  EXPECT_FALSE(convert(Value(std::uint64_t{UINT64_MAX}), ResourceType::kInteger));
  EXPECT_FALSE(convert(Value(true), ResourceType::kInteger));
  EXPECT_FALSE(convert(Value("x"), ResourceType::kOpaque));
}

TEST(Base64, EncodesAndRejectsStrictly) {
  EXPECT_EQ(base64_encode(to_bytes("foob"), Base64Alphabet::kStandard), "Zm9vYg==");
  EXPECT_EQ(base64_encode(Bytes{0xfb, 0xff}, Base64Alphabet::kUrl), "-_8");
  EXPECT_EQ(*base64_decode("-_8", Base64Alphabet::kUrl), (Bytes{0xfb, 0xff}));
  EXPECT_FALSE(base64_decode("+/8", Base64Alphabet::kUrl));
  EXPECT_FALSE(base64_decode("Zm9vYh==", Base64Alphabet::kStandard));  // stray low bits
  EXPECT_FALSE(base64_decode("Zm9vY", Base64Alphabet::kStandard));
}

TEST(Tree, SetsFindsAndFlattensInPathOrder) {
  Tree t;
  ASSERT_TRUE(t.set(Path{3, 0, 7, 1}, Value(5)));
  ASSERT_TRUE(t.set(Path{3, 0, 0}, Value("Tether")));
  ASSERT_TRUE(t.set(Path{3, 0, 7, 0}, Value(4)));
  ASSERT_TRUE(t.add_node(Path{1, 0}));
  EXPECT_EQ(*t.find_value(Path{3, 0, 0}), Value("Tether"));
  EXPECT_TRUE(t.find_resource(Path{3, 0, 7})->multiple);
  EXPECT_TRUE(t.contains(Path{1, 0}));
  EXPECT_EQ(t.leaf_count(), 3u);
  auto records = t.records();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].path, (Path{3, 0, 0}));
  EXPECT_EQ(records[1].path, (Path{3, 0, 7, 0}));
  EXPECT_EQ(records[2].path, (Path{3, 0, 7, 1}));
}

TEST(Tree, RefusesToMixSingleAndMultipleForms) {
  Tree t;
  ASSERT_TRUE(t.set(Path{3, 0, 7, 1}, Value(5)));
  EXPECT_FALSE(t.set(Path{3, 0, 7}, Value(5)));
  ASSERT_TRUE(t.set(Path{3, 0, 1}, Value(5)));
  EXPECT_FALSE(t.set(Path{3, 0, 1, 0}, Value(5)));
  EXPECT_FALSE(t.set(Path{3, 0}, Value(5)));
  Record dup{Path{3, 0, 1}, Value(1), std::nullopt};
  std::vector<Record> twice{dup, dup};
  EXPECT_FALSE(Tree::from_records(twice));
}

}  // namespace
}  // namespace tether::lwm2m
