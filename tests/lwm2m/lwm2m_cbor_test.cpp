// LwM2M CBOR: compressed ID-array keys both ways, empty nodes, and refusal of keys and
// nesting the format does not allow.
#include "lwm2m/format/lwm2m_cbor.hpp"

#include <gtest/gtest.h>

#include <random>

#include "lwm2m/format/cbor_io.hpp"
#include "lwm2m/random_tree.hpp"
#include "support/builtin_registry.hpp"
#include "support/hex_bytes.hpp"

namespace tether::lwm2m::format {
namespace {

using test_support::builtin_registry;
using test_support::hex;

TEST(Lwm2mCbor, FoldsSingleChildChainsIntoArrayKeys) {
  Tree t;
  ASSERT_TRUE(t.set(Path{3, 0, 9}, Value(100)));
  ASSERT_TRUE(t.set(Path{3, 0, 6, 0}, Value(1)));
  auto bytes = lwm2m_cbor::encode(Path{3, 0}, t, builtin_registry());
  ASSERT_TRUE(bytes);
  // {[3, 0]: {[6, 0]: 1, 9: 100}}
  EXPECT_EQ(*bytes, hex("A1 82 03 00 A2 82 06 00 01 09 18 64"));
  auto back = lwm2m_cbor::decode(Path{3, 0}, *bytes, builtin_registry());
  ASSERT_TRUE(back) << back.error().reason;
  EXPECT_EQ(*back, t);
}

TEST(Lwm2mCbor, ReadsUncompressedAndMixedKeysAndTaggedTime) {
  // {3: {0: {13: 1(1700000000), 22: {0: "3303:0"}}}, [3, 0, 9]: 87}
  const Bytes payload =
      hex("A2 03 A1 00 A2 0D C1 1A 65 53 F1 00 16 A1 00 66 33 33 30 33 3A 30"
          "83 03 00 09 18 57");
  auto tree = lwm2m_cbor::decode(Path{3, 0}, payload, builtin_registry());
  ASSERT_TRUE(tree) << tree.error().reason;
  EXPECT_EQ(*tree->find_value(Path{3, 0, 13}), Value(Time{1700000000}));
  EXPECT_EQ(*tree->find_value(Path{3, 0, 22, 0}), Value(Objlnk{3303, 0}));
  EXPECT_EQ(*tree->find_value(Path{3, 0, 9}), Value(87));
}

TEST(Lwm2mCbor, KeepsEmptyNodesOnRandomTrees) {
  std::mt19937_64 rng(11544);
  const testing::RandomModel model;
  testing::TreeShape shape;
  shape.allow_empty_nodes = true;
  for (int i = 0; i < 300; ++i) {
    const Tree tree = testing::random_tree(rng, shape);
    auto bytes = lwm2m_cbor::encode(Path{}, tree, model);
    ASSERT_TRUE(bytes);
    auto back = lwm2m_cbor::decode(Path{}, *bytes, model);
    ASSERT_TRUE(back) << back.error().reason;
    ASSERT_EQ(*back, tree) << "iteration " << i;
  }
}

TEST(Lwm2mCbor, RefusesWhatTheFormatDoesNotAllow) {
  const char* bad[] = {
      "80",                       // not a map
      "A1 19 FF FF A0",           // the reserved ID 65535
      "A1 85 03 00 09 00 00 01",  // a key five levels deep
      "A1 83 03 00 07 A1 00 A0",  // a map below a resource instance
      "A1 82 03 00 05",           // a value on an instance
      "A1 80 01",                 // an empty key array
      "A1 63 61 62 63 01",        // a text key
      "A1 83 03 00 09 18",        // truncated
      "A1 83 03 00 09 18 64 00",  // trailing bytes
      "A1 83 03 00 09 C2 41 00",  // a tag other than 1
      "A1 83 03 00 09 F9 3E 00",  // 1.5 for an Integer resource
      "A1 83 04 00 09 01",        // outside the target /3/0
  };
  for (const char* h : bad) {
    EXPECT_FALSE(lwm2m_cbor::decode(Path{3, 0}, hex(h), builtin_registry()).ok()) << h;
  }
  std::vector<Record> timed{{Path{3, 0, 9}, Value(1), 5.0}};
  EXPECT_FALSE(lwm2m_cbor::encode_records(timed, builtin_registry()));
}

}  // namespace
}  // namespace tether::lwm2m::format
