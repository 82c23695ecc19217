// OMA TLV: the Core TS Device example byte for byte, every nesting level, empty nodes, and
// strict refusal of malformed input.
#include "lwm2m/format/tlv.hpp"

#include <gtest/gtest.h>

#include <random>

#include "lwm2m/random_tree.hpp"
#include "support/builtin_registry.hpp"
#include "support/hex_bytes.hpp"

namespace tether::lwm2m::format {
namespace {

using test_support::builtin_registry;
using test_support::hex;

// The Device instance of the Core TS TLV example (Read /3/0).
Tree core_ts_device() {
  Tree t;
  auto set = [&](Path p, Value v) { ASSERT_TRUE(t.set(p, std::move(v))); };
  set(Path{3, 0, 0}, Value("Open Mobile Alliance"));
  set(Path{3, 0, 1}, Value("Lightweight M2M Client"));
  set(Path{3, 0, 2}, Value("345000123"));
  set(Path{3, 0, 3}, Value("1.0"));
  set(Path{3, 0, 6, 0}, Value(1));
  set(Path{3, 0, 6, 1}, Value(5));
  set(Path{3, 0, 7, 0}, Value(3800));
  set(Path{3, 0, 7, 1}, Value(5000));
  set(Path{3, 0, 8, 0}, Value(125));
  set(Path{3, 0, 8, 1}, Value(900));
  set(Path{3, 0, 9}, Value(100));
  set(Path{3, 0, 10}, Value(15));
  set(Path{3, 0, 11, 0}, Value(0));
  set(Path{3, 0, 13}, Value(Time{1367491215}));
  set(Path{3, 0, 14}, Value("+02:00"));
  set(Path{3, 0, 16}, Value("U"));
  return t;
}

const Bytes kCoreTsDeviceTlv =
    hex("C8 00 14 4F 70 65 6E 20 4D 6F 62 69 6C 65 20 41 6C 6C 69 61 6E 63 65"
        "C8 01 16 4C 69 67 68 74 77 65 69 67 68 74 20 4D 32 4D 20 43 6C 69 65 6E 74"
        "C8 02 09 33 34 35 30 30 30 31 32 33"
        "C3 03 31 2E 30"
        "86 06 41 00 01 41 01 05"
        "88 07 08 42 00 0E D8 42 01 13 88"
        "87 08 41 00 7D 42 01 03 84"
        "C1 09 64"
        "C1 0A 0F"
        "83 0B 41 00 00"
        "C4 0D 51 82 42 8F"
        "C6 0E 2B 30 32 3A 30 30"
        "C1 10 55");

TEST(Tlv, EncodesTheCoreTsDeviceExampleByteForByte) {
  auto bytes = tlv::encode(Path{3, 0}, core_ts_device(), builtin_registry());
  ASSERT_TRUE(bytes) << bytes.error().reason;
  EXPECT_EQ(*bytes, kCoreTsDeviceTlv);
}

TEST(Tlv, DecodesTheCoreTsDeviceExampleWithModelTypes) {
  auto tree = tlv::decode(Path{3, 0}, kCoreTsDeviceTlv, builtin_registry());
  ASSERT_TRUE(tree) << tree.error().reason;
  EXPECT_EQ(*tree, core_ts_device());
  EXPECT_EQ(*tree->find_value(Path{3, 0, 13}), Value(Time{1367491215}));
}

TEST(Tlv, AcceptsAnEnclosingInstanceAtInstanceLevel) {
  Bytes wrapped = hex("08 00 0E");  // Object Instance 0, 14 bytes of resources
  const Bytes inner = hex("C1 09 64 C8 00 08 54 65 73 74 20 49 6E 63");
  wrapped[2] = static_cast<std::uint8_t>(inner.size());
  wrapped.insert(wrapped.end(), inner.begin(), inner.end());
  auto tree = tlv::decode(Path{3, 0}, wrapped, builtin_registry());
  ASSERT_TRUE(tree) << tree.error().reason;
  EXPECT_EQ(*tree->find_value(Path{3, 0, 9}), Value(100));
  EXPECT_EQ(*tree->find_value(Path{3, 0, 0}), Value("Test Inc"));
  EXPECT_FALSE(tlv::decode(Path{3, 1}, wrapped, builtin_registry()));
}

TEST(Tlv, CarriesEachLevelAndTheCreateFormWithoutInstanceId) {
  Tree one;
  ASSERT_TRUE(one.set(Path{3, 0, 7, 1}, Value(5000)));
  for (const Path& p : {Path{3, 0, 7, 1}, Path{3, 0, 7}, Path{3, 0}, Path{3}}) {
    auto bytes = tlv::encode(p, one, builtin_registry());
    ASSERT_TRUE(bytes) << p.to_string() << ": " << bytes.error().reason;
    auto back = tlv::decode(p, *bytes, builtin_registry());
    ASSERT_TRUE(back) << p.to_string() << ": " << back.error().reason;
    EXPECT_EQ(*back, one) << p.to_string();
  }
  // Create on /3303 with bare resources: the client assigns the instance ID.
  auto created = tlv::decode(Path{3303}, hex("E4 16 44 41 AC 00 00"), builtin_registry());
  ASSERT_TRUE(created) << created.error().reason;
  EXPECT_EQ(*created->find_value(Path{3303, Path::kUnassigned, 5700}), Value(21.5));
  auto again = tlv::encode(Path{3303}, *created, builtin_registry());
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, hex("E4 16 44 41 AC 00 00"));
}

TEST(Tlv, KeepsEmptyInstancesAndResourcesOnRandomTrees) {
  std::mt19937_64 rng(11542);
  const testing::RandomModel model;
  testing::TreeShape shape;
  shape.allow_empty_nodes = true;
  for (int i = 0; i < 300; ++i) {
    const Tree tree = testing::random_tree(rng, shape);
    for (const auto& [oid, object] : tree.objects) {
      Tree one;
      one.objects[oid] = object;
      auto bytes = tlv::encode(Path{oid}, one, model);
      ASSERT_TRUE(bytes) << bytes.error().reason;
      auto back = tlv::decode(Path{oid}, *bytes, model);
      ASSERT_TRUE(back) << back.error().reason;
      ASSERT_EQ(*back, one) << "iteration " << i;
    }
  }
}

TEST(Tlv, UsesTheShortestIntegerAndFloatWidths) {
  Tree t;
  ASSERT_TRUE(t.set(Path{30000, 0, 1}, Value(-129)));                // Integer: 2 bytes
  ASSERT_TRUE(t.set(Path{30000, 0, 2}, Value(std::uint64_t{200})));  // Unsigned: 1 byte
  ASSERT_TRUE(t.set(Path{30000, 0, 3}, Value(1.5)));                 // exact in single precision
  ASSERT_TRUE(t.set(Path{30000, 0, 7}, Value(Objlnk{3303, 1})));
  auto bytes = tlv::encode(Path{30000, 0}, t, testing::RandomModel());
  ASSERT_TRUE(bytes);
  EXPECT_EQ(*bytes, hex("C2 01 FF 7F C1 02 C8 C4 03 3F C0 00 00 C4 07 0C E7 00 01"));
}

TEST(Tlv, RefusesMalformedInput) {
  const auto& model = builtin_registry();
  const char* bad[] = {
      "C8",                 // header cut short
      "C8 00 05 41 42",     // value shorter than its length
      "C2 09 00",           // Integer of length 2 whose body is missing
      "C3 09 00 00 01",     // Integer of 3 bytes
      "C2 0C 00 01",        // a value for the executable Reset Error Code
      "C9 00 01 41",        // short and long length at once
      "E1 FF FF 00",        // the reserved ID 65535
      "83 06 C1 00 01",     // a Resource TLV inside a Multiple Resource
      "C1 0D 01 C1 0D 02",  // the same resource twice
  };
  for (const char* h : bad) {
    EXPECT_FALSE(tlv::decode(Path{3, 0}, hex(h), model).ok()) << h;
  }
  EXPECT_FALSE(tlv::decode(Path{3, 0, 9}, hex("C1 0A 0F"), model));  // not resource 9
  EXPECT_FALSE(tlv::decode(Path{}, hex("C1 0A 0F"), model));         // root has no TLV form
  EXPECT_FALSE(tlv::decode(Path{1, 0}, hex("C1 06 02"), model));     // Boolean must be 0/1
  EXPECT_FALSE(tlv::decode(Path{3, 0}, hex("C2 00 C3 28"), model));  // String not UTF-8
  EXPECT_FALSE(tlv::encode(Path{}, core_ts_device(), model));
}

}  // namespace
}  // namespace tether::lwm2m::format
