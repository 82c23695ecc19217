// RFC 7959 Block1/Block2 option values: NUM, M and SZX packed into 0-3 bytes.
#include <gtest/gtest.h>

#include "coap/block_option.hpp"
#include "coap/udp_codec.hpp"

namespace tether::coap {
namespace {

BlockOption block(std::uint32_t num, bool more, std::uint8_t szx) {
  BlockOption b;
  b.num = num;
  b.more = more;
  b.szx = szx;
  return b;
}

void expect_value(const BlockOption& b, const Bytes& value) {
  EXPECT_EQ(encode_block(b), value) << "num=" << b.num << " szx=" << int{b.szx};
  auto back = decode_block(value);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, b);
}

TEST(BlockOption, FirstBlockOfSixteenWithoutMoreIsZeroLength) {
  expect_value(block(0, false, 0), Bytes{});
}

TEST(BlockOption, OneByteValues) {
  expect_value(block(0, true, 0), Bytes{0x08});
  expect_value(block(0, false, 6), Bytes{0x06});
  expect_value(block(1, true, 6), Bytes{0x1e});
  expect_value(block(15, false, 6), Bytes{0xf6});
  expect_value(block(2, true, 2), Bytes{0x2a});
}

TEST(BlockOption, TwoByteValues) {
  expect_value(block(16, false, 6), Bytes{0x01, 0x06});
  expect_value(block(4095, true, 2), Bytes{0xff, 0xfa});
}

TEST(BlockOption, ThreeByteValues) {
  expect_value(block(4096, false, 6), Bytes{0x01, 0x00, 0x06});
  expect_value(block(kMaxBlockNum, true, 6), Bytes{0xff, 0xff, 0xfe});
}

TEST(BlockOption, DecodeAcceptsNonMinimalEncodings) {
  auto b = decode_block(Bytes{0x00, 0x00, 0x1e});
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(*b, block(1, true, 6));
}

TEST(BlockOption, MoreThanThreeBytesIsRejected) {
  EXPECT_FALSE(decode_block(Bytes{0x00, 0x00, 0x00, 0x06}).has_value());
  EXPECT_FALSE(decode_block(Bytes{0x01, 0x00, 0x00, 0x06}, true).has_value());
}

TEST(BlockOption, SzxSevenIsRejectedUnlessBertIsAllowed) {
  EXPECT_FALSE(decode_block(Bytes{0x17}).has_value());
  EXPECT_FALSE(decode_block(Bytes{0x0f}).has_value());
  auto bert = decode_block(Bytes{0x1f}, /*allow_bert=*/true);
  ASSERT_TRUE(bert.has_value());
  EXPECT_EQ(bert->num, 1u);
  EXPECT_TRUE(bert->more);
  EXPECT_TRUE(bert->is_bert());
  EXPECT_EQ(bert->size(), 1024u);
  EXPECT_EQ(bert->offset(), 1024u);
}

TEST(BlockOption, SizeAndOffset) {
  EXPECT_EQ(block(0, false, 0).size(), 16u);
  EXPECT_EQ(block(0, false, 1).size(), 32u);
  EXPECT_EQ(block(0, false, 4).size(), 256u);
  EXPECT_EQ(block(0, false, 6).size(), 1024u);
  EXPECT_EQ(block(3, false, 2).offset(), 192u);
  EXPECT_EQ(block(kMaxBlockNum, false, 6).offset(), std::size_t{kMaxBlockNum} * 1024);
  EXPECT_FALSE(block(0, false, 6).is_bert());
}

TEST(BlockOption, SzxForSize) {
  EXPECT_EQ(szx_for_size(16), 0);
  EXPECT_EQ(szx_for_size(32), 1);
  EXPECT_EQ(szx_for_size(64), 2);
  EXPECT_EQ(szx_for_size(128), 3);
  EXPECT_EQ(szx_for_size(256), 4);
  EXPECT_EQ(szx_for_size(512), 5);
  EXPECT_EQ(szx_for_size(1024), 6);
  EXPECT_FALSE(szx_for_size(0).has_value());
  EXPECT_FALSE(szx_for_size(8).has_value());
  EXPECT_FALSE(szx_for_size(100).has_value());
  EXPECT_FALSE(szx_for_size(1000).has_value());
  EXPECT_FALSE(szx_for_size(2048).has_value());
}

TEST(BlockOption, EveryNumAndSzxRoundTrips) {
  for (std::uint8_t szx = 0; szx <= 6; ++szx) {
    for (std::uint32_t num : {0u, 1u, 15u, 16u, 255u, 4095u, 4096u, 65535u, kMaxBlockNum}) {
      for (bool more : {false, true}) {
        const BlockOption b = block(num, more, szx);
        const Bytes v = encode_block(b);
        EXPECT_LE(v.size(), 3u);
        EXPECT_EQ(decode_block(v), b);
      }
    }
  }
}

TEST(BlockOption, SetAndGetOnAMessage) {
  Message m = make_request(codes::kPut, "/5/0/0");
  EXPECT_FALSE(get_block(m, option::kBlock1).has_value());
  set_block(m, option::kBlock1, block(0, true, 6));
  set_block(m, option::kBlock2, block(0, false, 4));
  set_block(m, option::kBlock1, block(1, true, 6));  // replaces, never repeats
  EXPECT_EQ(m.options.all(option::kBlock1).size(), 1u);
  EXPECT_EQ(get_block(m, option::kBlock1), block(1, true, 6));
  EXPECT_EQ(get_block(m, option::kBlock2), block(0, false, 4));

  // Through the codec: Block2 (23) after Uri-Path (11), Block1 (27) after it.
  auto back = decode_udp(encode_udp(m));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(get_block(*back, option::kBlock1), block(1, true, 6));
  EXPECT_EQ(get_block(*back, option::kBlock2), block(0, false, 4));
}

TEST(BlockOption, GetBlockRejectsBadValues) {
  Message m;
  m.options.add(option::kBlock2, Bytes{0x00, 0x00, 0x00, 0x16});
  EXPECT_FALSE(get_block(m, option::kBlock2).has_value());
  m.options.set(option::kBlock2, Bytes{0x2f});
  EXPECT_FALSE(get_block(m, option::kBlock2).has_value());
  EXPECT_TRUE(get_block(m, option::kBlock2, /*allow_bert=*/true).has_value());
}

}  // namespace
}  // namespace tether::coap
