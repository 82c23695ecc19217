// Every format through the one dispatcher: the same tree comes back from each, a tree moved
// from one format to another stays the same, and each format refuses what it cannot carry.
#include <gtest/gtest.h>

#include <random>

#include "lwm2m/format/codec.hpp"
#include "lwm2m/model/object_registry.hpp"
#include "lwm2m/random_tree.hpp"
#include "support/device_object.hpp"

namespace tether::lwm2m::format {
namespace {

const model::ObjectRegistry& registry() {
  static const auto r = model::ObjectRegistry::with_builtin();
  return r;
}

constexpr ContentFormat kTreeFormats[] = {ContentFormat::kTlv, ContentFormat::kSenmlJson,
                                          ContentFormat::kSenmlCbor, ContentFormat::kLwm2mCbor};

Tree round_trip(ContentFormat format, const Path& path, const Tree& tree,
                const model::Model& model) {
  auto bytes = encode(format, path, tree, model);
  EXPECT_TRUE(bytes) << name_of(format) << ": " << bytes.error().reason;
  if (!bytes) return {};
  auto back = decode(format, path, *bytes, model);
  EXPECT_TRUE(back) << name_of(format) << ": " << back.error().reason;
  return back ? *back : Tree{};
}

TEST(CrossFormat, DeviceInstanceRoundTripsInEveryFormat) {
  const Tree device = test_support::device_instance();
  for (auto format : kTreeFormats) {
    EXPECT_EQ(round_trip(format, Path{3, 0}, device, registry()), device) << name_of(format);
    EXPECT_EQ(round_trip(format, Path{3}, device, registry()), device) << name_of(format);
  }
}

TEST(CrossFormat, RandomTreesSurviveEveryChainOfFormats) {
  std::mt19937_64 rng(20261123);
  const testing::RandomModel model;
  for (int i = 0; i < 150; ++i) {
    const Tree original = testing::random_tree(rng);
    // TLV names no objects, so it carries one object at a time.
    Tree tree;
    for (const auto& [oid, object] : original.objects) {
      Tree one;
      one.objects[oid] = object;
      Tree back = round_trip(ContentFormat::kTlv, Path{oid}, one, model);
      ASSERT_EQ(back, one) << "iteration " << i << " after TLV";
      tree.objects[oid] = back.objects[oid];
    }
    // Then SenML CBOR -> LwM2M CBOR -> SenML JSON, each decoding what the last produced.
    for (auto format :
         {ContentFormat::kSenmlCbor, ContentFormat::kLwm2mCbor, ContentFormat::kSenmlJson}) {
      tree = round_trip(format, Path{}, tree, model);
      ASSERT_EQ(tree, original) << "iteration " << i << " after " << name_of(format);
    }
  }
}

TEST(CrossFormat, SingleValueFormatsCarryExactlyOneResource) {
  const Tree device = test_support::device_instance();
  Tree one;
  ASSERT_TRUE(one.set(Path{3, 0, 9}, Value(100)));
  for (auto format : {ContentFormat::kText, ContentFormat::kTlv, ContentFormat::kSenmlCbor}) {
    EXPECT_EQ(round_trip(format, Path{3, 0, 9}, one, registry()), one) << name_of(format);
  }
  EXPECT_FALSE(encode(ContentFormat::kText, Path{3, 0}, device, registry()));
  EXPECT_FALSE(encode(ContentFormat::kOpaque, Path{3, 0, 9}, one, registry()));
  EXPECT_FALSE(encode(ContentFormat::kOldJson, Path{3, 0}, device, registry()));
  EXPECT_FALSE(encode(ContentFormat::kLinkFormat, Path{3, 0}, device, registry()));
}

TEST(CrossFormat, RefusesContentOutsideTheTargetPath) {
  const Tree device = test_support::device_instance();
  for (auto format : kTreeFormats) {
    EXPECT_FALSE(encode(format, Path{3, 1}, device, registry())) << name_of(format);
    EXPECT_FALSE(encode(format, Path{4}, device, registry())) << name_of(format);
  }
}

TEST(CrossFormat, RecordsAndPathsGoThroughTheDispatcher) {
  const auto records = test_support::device_instance().records();
  for (auto format :
       {ContentFormat::kSenmlJson, ContentFormat::kSenmlCbor, ContentFormat::kLwm2mCbor}) {
    auto bytes = encode_records(format, records, registry());
    ASSERT_TRUE(bytes) << name_of(format) << ": " << bytes.error().reason;
    auto back = decode_records(format, *bytes, registry());
    ASSERT_TRUE(back) << name_of(format) << ": " << back.error().reason;
    EXPECT_EQ(*back, records) << name_of(format);
  }
  const std::vector<Path> paths{Path{3, 0, 9}, Path{1}, Path{3303, 0, 5700}, Path{}};
  for (auto format : {ContentFormat::kSenmlEtchJson, ContentFormat::kSenmlEtchCbor,
                      ContentFormat::kSenmlJson, ContentFormat::kSenmlCbor}) {
    auto bytes = encode_paths(format, paths);
    ASSERT_TRUE(bytes) << name_of(format) << ": " << bytes.error().reason;
    auto back = decode_paths(format, *bytes);
    ASSERT_TRUE(back) << name_of(format) << ": " << back.error().reason;
    EXPECT_EQ(*back, paths) << name_of(format);
  }
  EXPECT_FALSE(encode_paths(ContentFormat::kTlv, paths));
  EXPECT_FALSE(decode_records(ContentFormat::kTlv, Bytes{}, registry()));
}

TEST(CrossFormat, NumbersTheSpecRegistersMapToFormats) {
  for (int number : {0, 40, 42, 110, 112, 320, 322, 11542, 11543, 11544}) {
    const auto n = static_cast<std::uint16_t>(number);
    ASSERT_TRUE(content_format_from(n)) << n;
    EXPECT_EQ(static_cast<std::uint16_t>(*content_format_from(n)), n);
  }
  EXPECT_FALSE(content_format_from(50));
  EXPECT_FALSE(content_format_from(60));
  EXPECT_EQ(name_of(ContentFormat::kLwm2mCbor), "application/vnd.oma.lwm2m+cbor");
}

}  // namespace
}  // namespace tether::lwm2m::format
