#include "lwm2m/format/cbor_io.hpp"

#include <gtest/gtest.h>

#include "support/hex_bytes.hpp"

namespace tether::lwm2m::format::cbor {
namespace {

Bytes write(auto&& fill) {
  Bytes out;
  Writer w(out);
  fill(w);
  return out;
}

TEST(CborIo, WritesShortestForms) {
  // RFC 8949 Appendix A examples.
  EXPECT_EQ(to_hex(write([](Writer& w) { w.integer(-1000); })), "3903e7");
  EXPECT_EQ(to_hex(write([](Writer& w) { w.unsigned_integer(1000000); })), "1a000f4240");
  EXPECT_EQ(to_hex(write([](Writer& w) { w.floating(1.5); })), "f93e00");
  EXPECT_EQ(to_hex(write([](Writer& w) { w.floating(65504.0); })), "f97bff");
  EXPECT_EQ(to_hex(write([](Writer& w) { w.floating(100000.0); })), "fa47c35000");
  EXPECT_EQ(to_hex(write([](Writer& w) { w.floating(1.1); })), "fb3ff199999999999a");
  EXPECT_EQ(to_hex(write([](Writer& w) { w.floating(5.960464477539063e-8); })), "f90001");
  EXPECT_EQ(to_hex(write([](Writer& w) { w.text("IETF"); })), "6449455446");
  EXPECT_EQ(to_hex(write([](Writer& w) {
              w.map(1);
              w.integer(-2);
              w.array(0);
            })),
            "a121"
            "80");
}

TEST(CborIo, ReadsHeadsAndSkipsNestedItems) {
  Bytes in = write([](Writer& w) {
    w.array(3);
    w.integer(-5);
    w.map(1);
    w.text("k");
    w.bytes(Bytes{1, 2});
    w.floating(0.5);
  });
  Reader r(in);
  auto array = r.next();
  ASSERT_TRUE(array);
  EXPECT_EQ(array->kind, Kind::kArray);
  EXPECT_EQ(array->count, 3u);
  auto neg = r.next();
  EXPECT_EQ(*to_int64(*neg), -5);
  auto map = r.next();
  ASSERT_TRUE(r.skip(*map, 4));
  auto f = r.next();
  EXPECT_EQ(f->kind, Kind::kFloat);
  EXPECT_EQ(f->number, 0.5);
  EXPECT_TRUE(r.at_end());
}

// Whatever precision the writer picks, the value reads back unchanged: across the half,
// single and double ranges and the subnormal halves libcbor 0.8 encodes wrong.
TEST(CborIo, FloatsReadBackExactly) {
  for (double v : {0.0, -0.0, 1.5, 65504.0, 0x1p-14, 0x1p-24, 9 * 0x1p-18, 1023 * 0x1p-24,
                   3 * 0x1p-20, -5 * 0x1p-19, 1e-30, 3.4e38, 1.1, 1e300}) {
    Bytes out = write([&](Writer& w) { w.floating(v); });
    Reader r(out);
    auto item = r.next();
    ASSERT_TRUE(item);
    EXPECT_EQ(item->number, v) << v << " as " << to_hex(out);
  }
}

// Every one-byte tag head (tags 0-23) reads, the COSE tags 16-18 among them, and a tagged
// item can be skipped whole.
TEST(CborIo, ReadsEveryOneByteTagHead) {
  for (std::uint64_t tag = 0; tag < 24; ++tag) {
    Bytes in = write([&](Writer& w) {
      w.tag(tag);
      w.unsigned_integer(7);
    });
    ASSERT_EQ(in.size(), 2u);
    Reader r(in);
    auto head = r.next();
    ASSERT_TRUE(head) << tag << ": " << head.error().reason;
    EXPECT_EQ(head->kind, Kind::kTag);
    EXPECT_EQ(head->value, tag);
    auto inner = r.next();
    ASSERT_TRUE(inner);
    EXPECT_EQ(inner->value, 7u);
    Reader again(in);
    auto whole = again.next();
    ASSERT_TRUE(again.skip(*whole, 2)) << tag;
    EXPECT_TRUE(again.at_end());
  }
}

TEST(CborIo, RejectsTruncatedMalformedAndOpenStrings) {
  for (const char* hex : {"19", "6261", "5f4101ff", "7f6161ff", "1c", "f8", "f0"}) {
    Bytes in = test_support::hex(hex);
    Reader r(in);
    auto item = r.next();
    EXPECT_FALSE(item) << hex;
  }
  Bytes deep(40, 0x81);
  deep.push_back(0x00);
  Reader r(deep);
  auto head = r.next();
  EXPECT_FALSE(r.skip(*head, 16));
}

}  // namespace
}  // namespace tether::lwm2m::format::cbor
