// SenML JSON and CBOR: the Core TS style of payload, base name and time resolution, the
// LwM2M value fields (vlo, base64url vd), ETCH path lists, and refusal of bad records.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "lwm2m/format/cbor_io.hpp"
#include "lwm2m/format/codec.hpp"
#include "lwm2m/random_tree.hpp"
#include "support/builtin_registry.hpp"
#include "support/device_object.hpp"

namespace tether::lwm2m::format {
namespace {

using test_support::builtin_registry;

Bytes bytes_of(std::string_view s) {
  return Bytes(s.begin(), s.end());
}
std::string text_of(const Bytes& b) {
  return std::string(b.begin(), b.end());
}

TEST(SenmlJson, DecodesTheCoreTsStyleDeviceRead) {
  const std::string payload = R"([
    {"bn":"/3/0/","n":"0","vs":"Open Mobile Alliance"},
    {"n":"1","vs":"Lightweight M2M Client"},
    {"n":"6/0","v":1},{"n":"6/1","v":5},
    {"n":"9","v":100},
    {"n":"13","v":1367491215},
    {"n":"16","vs":"U"}])";
  auto tree = decode(ContentFormat::kSenmlJson, Path{3, 0}, bytes_of(payload), builtin_registry());
  ASSERT_TRUE(tree) << tree.error().reason;
  EXPECT_EQ(tree->leaf_count(), 7U);
  EXPECT_EQ(*tree->find_value(Path{3, 0, 6, 1}), Value(5));
  EXPECT_EQ(*tree->find_value(Path{3, 0, 13}), Value(Time{1367491215}));
  EXPECT_EQ(*tree->find_value(Path{3, 0, 16}), Value("U"));
}

TEST(SenmlJson, WritesLwm2mValueFields) {
  Tree t;
  ASSERT_TRUE(t.set(Path{3, 0, 22, 0}, Value(Objlnk{3303, 0})));
  ASSERT_TRUE(t.set(Path{5, 0, 0}, Value(Bytes{0xfb, 0xff, 0x01})));
  ASSERT_TRUE(t.set(Path{1, 0, 6}, Value(true)));
  auto bytes = encode(ContentFormat::kSenmlJson, Path{}, t, builtin_registry());
  ASSERT_TRUE(bytes) << bytes.error().reason;
  EXPECT_EQ(text_of(*bytes), R"([{"n":"/1/0/6","vb":true},{"n":"/3/0/22/0","vlo":"3303:0"},)"
                             R"({"n":"/5/0/0","vd":"-_8B"}])");
  auto back = decode(ContentFormat::kSenmlJson, Path{}, *bytes, builtin_registry());
  ASSERT_TRUE(back) << back.error().reason;
  EXPECT_EQ(*back, t);
}

TEST(SenmlJson, ResolvesBaseTimeAndKeepsTimeSeries) {
  const std::string payload = R"([
    {"bn":"/3303/0/5700","bt":1700000000,"v":21.5},
    {"t":10,"v":22.0},
    {"bn":"/3303/1/","n":"5700","t":-5,"v":-3.25}])";
  auto records = decode_records(ContentFormat::kSenmlJson, bytes_of(payload), builtin_registry());
  ASSERT_TRUE(records) << records.error().reason;
  ASSERT_EQ(records->size(), 3U);
  EXPECT_EQ((*records)[0], (Record{Path{3303, 0, 5700}, Value(21.5), 1700000000.0}));
  EXPECT_EQ((*records)[1], (Record{Path{3303, 0, 5700}, Value(22.0), 1700000010.0}));
  EXPECT_EQ((*records)[2], (Record{Path{3303, 1, 5700}, Value(-3.25), 1699999995.0}));
  for (auto format : {ContentFormat::kSenmlJson, ContentFormat::kSenmlCbor}) {
    auto bytes = encode_records(format, *records, builtin_registry());
    ASSERT_TRUE(bytes);
    auto back = decode_records(format, *bytes, builtin_registry());
    ASSERT_TRUE(back) << back.error().reason;
    EXPECT_EQ(*back, *records);
  }
  // An explicit bt of 0 still times every later record.
  auto zero =
      decode_records(ContentFormat::kSenmlJson,
                     bytes_of(R"([{"bn":"/3/0/9","bt":0,"v":1},{"v":2}])"), builtin_registry());
  ASSERT_TRUE(zero) << zero.error().reason;
  EXPECT_EQ((*zero)[1].time, 0.0);
  // The same path twice is a time series, not a tree.
  EXPECT_FALSE(
      decode(ContentFormat::kSenmlJson, Path{3303}, bytes_of(payload), builtin_registry()));
}

TEST(SenmlJson, EtchPathListsCarryNamesOnly) {
  const std::string request = R"([{"n":"/3/0/9"},{"n":"/1"},{"bn":"/3303/0/","n":"5700"}])";
  auto paths = decode_paths(ContentFormat::kSenmlJson, bytes_of(request));
  ASSERT_TRUE(paths) << paths.error().reason;
  EXPECT_EQ(*paths, (std::vector<Path>{Path{3, 0, 9}, Path{1}, Path{3303, 0, 5700}}));
  EXPECT_FALSE(decode_paths(ContentFormat::kSenmlJson, bytes_of(R"([{"n":"/3/0/9","v":1}])")));
}

TEST(SenmlJson, RefusesBadRecords) {
  const char* bad[] = {
      R"({"n":"/3/0/9","v":1})",              // not an array
      R"([{"n":"/3/0/9","v":1,"vs":"x"}])",   // two values
      R"([{"n":"/3/0/9","v":"1"}])",          // v is a string
      R"([{"n":"/3/0","v":1}])",              // value on an instance
      R"([{"n":"/3/0/x","v":1}])",            // bad name
      R"([{"n":"/3/0/9"}])",                  // no value in a tree
      R"([{"n":"/3/0/9","v":1.5}])",          // Battery Level is an Integer
      R"([{"n":"/3/0/9","v":1,"xyz_":1}])",   // unknown must-understand label
      R"([{"n":"/5/0/0","vd":"+/8="}])",      // vd is base64url, not base64
      R"([{"n":"/3/0/22/0","vlo":"3303"}])",  // vlo needs O:I
      R"([[{"n":"/3/0/9","v":1}]])",          // nested too deep
      R"([{"n":"/4/0/9","v":1}])",            // outside the target /3
      R"([{"n":"/3/0/9","v":1})",             // truncated
  };
  for (const char* payload : bad) {
    EXPECT_FALSE(
        decode(ContentFormat::kSenmlJson, Path{3}, bytes_of(payload), builtin_registry()).ok())
        << payload;
  }
}

TEST(SenmlCbor, DecodesRecordsWrittenWithOtherLabelChoices) {
  // Open-ended array and map, base name on its own, a float time: all valid RFC 8428 CBOR.
  Bytes payload;
  cbor::Writer w(payload);
  payload.push_back(0x9f);  // open-ended array
  w.map(2);
  w.integer(-2);
  w.text("/3303/0/");
  w.integer(-3);
  w.floating(0.5);
  payload.push_back(0xbf);  // open-ended map
  w.integer(0);
  w.text("5700");
  w.integer(2);
  w.floating(21.5);
  payload.push_back(0xff);
  payload.push_back(0xff);
  auto records = decode_records(ContentFormat::kSenmlCbor, payload, builtin_registry());
  ASSERT_TRUE(records) << records.error().reason;
  ASSERT_EQ(records->size(), 2U);
  EXPECT_EQ((*records)[1], (Record{Path{3303, 0, 5700}, Value(21.5), 0.5}));
}

TEST(SenmlCbor, RefusesBadRecords) {
  auto encoded = [](auto build) {
    Bytes b;
    cbor::Writer w(b);
    build(w);
    return b;
  };
  const Bytes bad[] = {
      encoded([](cbor::Writer& w) { w.map(0); }),  // not an array
      encoded([](cbor::Writer& w) {                // a name that is bytes
        w.array(1);
        w.map(1);
        w.integer(0);
        w.bytes(Bytes{0x2f});
      }),
      encoded([](cbor::Writer& w) {  // vb that is an integer
        w.array(1);
        w.map(2);
        w.integer(0);
        w.text("/1/0/6");
        w.integer(4);
        w.integer(1);
      }),
      encoded([](cbor::Writer& w) {  // a value holding an array
        w.array(1);
        w.map(2);
        w.integer(0);
        w.text("/3/0/9");
        w.integer(2);
        w.array(0);
      }),
      encoded([](cbor::Writer& w) {  // trailing bytes
        w.array(0);
        w.integer(1);
      }),
      Bytes{0x81, 0xa2, 0x00},  // truncated
  };
  for (const auto& payload : bad) {
    EXPECT_FALSE(decode(ContentFormat::kSenmlCbor, Path{}, payload, builtin_registry()).ok());
  }
}

TEST(Senml, RandomTreesRoundTripInBothWireForms) {
  std::mt19937_64 rng(110112);
  const testing::RandomModel model;
  for (int i = 0; i < 200; ++i) {
    const Tree tree = testing::random_tree(rng);
    for (auto format : {ContentFormat::kSenmlJson, ContentFormat::kSenmlCbor}) {
      auto bytes = encode(format, Path{}, tree, model);
      ASSERT_TRUE(bytes) << bytes.error().reason;
      auto back = decode(format, Path{}, *bytes, model);
      ASSERT_TRUE(back) << back.error().reason;
      ASSERT_EQ(*back, tree) << name_of(format) << " iteration " << i;
    }
  }
}

TEST(Senml, UsesTheTargetAsBaseName) {
  Tree one;
  ASSERT_TRUE(one.set(Path{3, 0, 9}, Value(87)));
  auto bytes = encode(ContentFormat::kSenmlJson, Path{3, 0, 9}, one, builtin_registry());
  ASSERT_TRUE(bytes);
  EXPECT_EQ(text_of(*bytes), R"([{"bn":"/3/0/9","v":87}])");
}

}  // namespace
}  // namespace tether::lwm2m::format
