// Options container (wire order, set/remove, uint values) and per-option rules.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "coap/message.hpp"
#include "coap/udp_codec.hpp"

namespace tether::coap {
namespace {

std::vector<std::uint16_t> numbers(const Options& o) {
  std::vector<std::uint16_t> out;
  for (const auto& opt : o.list()) out.push_back(opt.number);
  return out;
}

using Numbers = std::vector<std::uint16_t>;
using Strings = std::vector<std::string>;

TEST(Options, AddKeepsWireOrder) {
  Options o;
  o.add(option::kUriQuery, "b=U");
  o.add(option::kUriHost, "h");
  o.add(option::kContentFormat, Bytes{});
  o.add(option::kBlock2, Bytes{0x06});
  o.add(option::kIfMatch, Bytes{});
  o.add(option::kSize1, Bytes{0x04});
  EXPECT_EQ(numbers(o), (Numbers{1, 3, 12, 15, 23, 60}));
}

TEST(Options, RepeatedNumbersStayInInsertionOrder) {
  Options o;
  o.add(option::kUriQuery, "ep=a");
  o.add(option::kUriPath, "rd");
  o.add(option::kUriQuery, "lt=60");
  o.add(option::kUriPath, "x");
  o.add(option::kContentFormat, Bytes{});
  o.add(option::kUriQuery, "b=U");
  EXPECT_EQ(numbers(o), (Numbers{11, 11, 12, 15, 15, 15}));
  EXPECT_EQ(o.strings(option::kUriPath), (Strings{"rd", "x"}));
  EXPECT_EQ(o.strings(option::kUriQuery), (Strings{"ep=a", "lt=60", "b=U"}));
  ASSERT_EQ(o.all(option::kUriQuery).size(), 3u);
  EXPECT_EQ(to_string(o.find(option::kUriQuery)->value), "ep=a");
}

TEST(Options, SetReplacesEveryOccurrence) {
  Options o;
  o.add(option::kUriPath, "a");
  o.add(option::kETag, Bytes{1});
  o.add(option::kETag, Bytes{2});
  o.add(option::kMaxAge, Bytes{3});
  o.set(option::kETag, Bytes{9});
  EXPECT_EQ(numbers(o), (Numbers{4, 11, 14}));
  EXPECT_EQ(o.find(option::kETag)->value, Bytes{9});
  o.set(option::kObserve, Bytes{});  // set of an absent option adds it in place
  EXPECT_EQ(numbers(o), (Numbers{4, 6, 11, 14}));
}

TEST(Options, RemoveDropsEveryOccurrence) {
  Options o;
  o.add(option::kUriPath, "a");
  o.add(option::kUriPath, "b");
  o.add(option::kUriQuery, "q");
  o.remove(option::kUriPath);
  EXPECT_EQ(numbers(o), Numbers{15});
  EXPECT_FALSE(o.has(option::kUriPath));
  o.remove(option::kAccept);  // absent: no effect
  EXPECT_EQ(o.size(), 1u);
  o.remove(option::kUriQuery);
  EXPECT_TRUE(o.empty());
}

TEST(Options, FindAndHas) {
  Options o;
  EXPECT_EQ(o.find(option::kUriPath), nullptr);
  o.add(option::kUriPath, "a");
  o.add(option::kAccept, Bytes{0x3c});
  EXPECT_TRUE(o.has(option::kUriPath));
  EXPECT_TRUE(o.has(option::kAccept));
  EXPECT_FALSE(o.has(option::kContentFormat));
  EXPECT_FALSE(o.has(option::kSize1));
  EXPECT_TRUE(o.all(option::kETag).empty());
  EXPECT_TRUE(o.strings(option::kETag).empty());
}

TEST(Options, UintValuesUseMinimalEncoding) {
  EXPECT_EQ(encode_uint(0), Bytes{});
  EXPECT_EQ(encode_uint(1), Bytes{0x01});
  EXPECT_EQ(encode_uint(255), Bytes{0xff});
  EXPECT_EQ(encode_uint(256), (Bytes{0x01, 0x00}));
  EXPECT_EQ(encode_uint(65535), (Bytes{0xff, 0xff}));
  EXPECT_EQ(encode_uint(65536), (Bytes{0x01, 0x00, 0x00}));
  EXPECT_EQ(encode_uint(0xdeadbeef), (Bytes{0xde, 0xad, 0xbe, 0xef}));
  EXPECT_EQ(encode_uint(0x0102030405060708ULL),
            (Bytes{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08}));
}

TEST(Options, DecodeUint) {
  EXPECT_EQ(decode_uint(Bytes{}), 0u);
  EXPECT_EQ(decode_uint(Bytes{0x00, 0x2a}), 42u);  // leading zeros are tolerated
  EXPECT_EQ(decode_uint(Bytes{0xde, 0xad, 0xbe, 0xef}), 0xdeadbeefu);
  EXPECT_FALSE(decode_uint(Bytes{1, 2, 3, 4, 5}).has_value());
  EXPECT_FALSE(decode_uint(Bytes{1, 2, 3, 4}, 3).has_value());
  EXPECT_EQ(decode_uint(Bytes{1, 2, 3, 4, 5, 6, 7, 8}, 8), 0x0102030405060708ULL);
}

TEST(Options, AddUintAndGetUint) {
  Options o;
  o.add_uint(option::kContentFormat, 0);
  EXPECT_TRUE(o.find(option::kContentFormat)->value.empty());
  EXPECT_EQ(o.get_uint(option::kContentFormat), 0u);
  o.set_uint(option::kContentFormat, content_format::kSenmlCbor);
  EXPECT_EQ(o.find(option::kContentFormat)->value, Bytes{112});
  EXPECT_EQ(o.get_uint(option::kContentFormat), 112u);
  o.set_uint(option::kContentFormat, content_format::kLwm2mTlv);
  EXPECT_EQ(o.find(option::kContentFormat)->value, (Bytes{0x2d, 0x16}));
  EXPECT_EQ(o.get_uint(option::kContentFormat), 11542u);
  EXPECT_EQ(o.size(), 1u);
  EXPECT_FALSE(o.get_uint(option::kMaxAge).has_value());
  o.add(option::kMaxAge, Bytes{1, 2, 3, 4, 5});  // too long for a uint option
  EXPECT_FALSE(o.get_uint(option::kMaxAge).has_value());
}

TEST(Options, MessageAccessorsUseTheOptions) {
  Message m = make_request(codes::kGet, "/3/0");
  EXPECT_EQ(m.path(), "/3/0");
  EXPECT_FALSE(m.content_format().has_value());
  m.set_content_format(content_format::kTextPlain);
  EXPECT_EQ(m.content_format(), 0);
  m.set_observe(0);
  EXPECT_EQ(m.observe(), 0u);
  m.set_observe(0x1234567);  // only 24 bits go on the wire
  EXPECT_EQ(m.observe(), 0x234567u);
  m.options.add_uint(option::kAccept, content_format::kSenmlJson);
  EXPECT_EQ(m.accept(), 110);
  EXPECT_EQ(numbers(m.options), (Numbers{6, 11, 11, 12, 17}));
}

TEST(Options, EncodedValuesDecodeBackThroughTheCodec) {
  Message m = make_request(codes::kGet, "/a");
  m.options.add_uint(option::kUriPort, 5683);
  m.options.add_uint(option::kMaxAge, 0);
  m.options.add_uint(option::kSize2, 0xffffffff);
  auto back = decode_udp(encode_udp(m));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->options.get_uint(option::kUriPort), 5683u);
  EXPECT_EQ(back->options.get_uint(option::kMaxAge), 0u);
  EXPECT_EQ(back->options.get_uint(option::kSize2), 0xffffffffu);
}

// Short values live in the option, long ones on the heap: both must keep their bytes through
// copies, moves and the codec, at and around the boundary.
TEST(Options, ValuesOfEveryLengthSurviveCopiesMovesAndTheCodec) {
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, OptionBytes::kInline - 1,
                        OptionBytes::kInline, OptionBytes::kInline + 1, std::size_t{1034}}) {
    Bytes v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(i * 7 + n);
    Message m = make_request(codes::kGet, "/a");
    m.options.add(option::kProxyUri, v);
    Message copy = m;
    m.options.set(option::kProxyUri, Bytes{9});  // the copy keeps its own bytes
    EXPECT_EQ(copy.options.find(option::kProxyUri)->value, v) << n;
    Message moved = std::move(copy);
    EXPECT_EQ(moved.options.find(option::kProxyUri)->value, v) << n;
    auto back = decode_udp(encode_udp(moved));
    ASSERT_TRUE(back.ok()) << n;
    EXPECT_EQ(back->options.find(option::kProxyUri)->value, v) << n;
    OptionBytes assigned{1, 2, 3};
    assigned = back->options.find(option::kProxyUri)->value;
    EXPECT_EQ(assigned.bytes(), v) << n;
  }
}

TEST(OptionRules, OddNumbersAreCritical) {
  EXPECT_TRUE(option::is_critical(option::kIfMatch));
  EXPECT_TRUE(option::is_critical(option::kUriHost));
  EXPECT_TRUE(option::is_critical(option::kUriPath));
  EXPECT_TRUE(option::is_critical(option::kUriQuery));
  EXPECT_TRUE(option::is_critical(option::kAccept));
  EXPECT_TRUE(option::is_critical(option::kBlock2));
  EXPECT_TRUE(option::is_critical(option::kBlock1));
  EXPECT_TRUE(option::is_critical(65535));
  EXPECT_FALSE(option::is_critical(option::kETag));
  EXPECT_FALSE(option::is_critical(option::kObserve));
  EXPECT_FALSE(option::is_critical(option::kContentFormat));
  EXPECT_FALSE(option::is_critical(option::kMaxAge));
  EXPECT_FALSE(option::is_critical(option::kSize2));
  EXPECT_FALSE(option::is_critical(option::kEcho));
  EXPECT_FALSE(option::is_critical(option::kNoResponse));
  EXPECT_FALSE(option::is_critical(option::kRequestTag));
  EXPECT_FALSE(option::is_critical(0));
}

TEST(OptionRules, ValidLengths) {
  using option::has_valid_length;
  EXPECT_TRUE(has_valid_length(option::kIfMatch, 0));
  EXPECT_TRUE(has_valid_length(option::kIfMatch, 8));
  EXPECT_FALSE(has_valid_length(option::kIfMatch, 9));
  EXPECT_FALSE(has_valid_length(option::kETag, 0));
  EXPECT_TRUE(has_valid_length(option::kETag, 1));
  EXPECT_FALSE(has_valid_length(option::kETag, 9));
  EXPECT_TRUE(has_valid_length(option::kIfNoneMatch, 0));
  EXPECT_FALSE(has_valid_length(option::kIfNoneMatch, 1));
  EXPECT_FALSE(has_valid_length(option::kUriHost, 0));
  EXPECT_TRUE(has_valid_length(option::kUriHost, 255));
  EXPECT_FALSE(has_valid_length(option::kUriHost, 256));
  EXPECT_TRUE(has_valid_length(option::kUriPath, 0));
  EXPECT_TRUE(has_valid_length(option::kUriPath, 255));
  EXPECT_FALSE(has_valid_length(option::kUriPath, 256));
  EXPECT_TRUE(has_valid_length(option::kContentFormat, 2));
  EXPECT_FALSE(has_valid_length(option::kContentFormat, 3));
  EXPECT_TRUE(has_valid_length(option::kObserve, 3));
  EXPECT_FALSE(has_valid_length(option::kObserve, 4));
  EXPECT_TRUE(has_valid_length(option::kBlock2, 3));
  EXPECT_FALSE(has_valid_length(option::kBlock1, 4));
  EXPECT_FALSE(has_valid_length(option::kHopLimit, 0));
  EXPECT_TRUE(has_valid_length(option::kHopLimit, 1));
  EXPECT_FALSE(has_valid_length(option::kHopLimit, 2));
  EXPECT_TRUE(has_valid_length(option::kProxyUri, 1034));
  EXPECT_FALSE(has_valid_length(option::kProxyUri, 1035));
  EXPECT_FALSE(has_valid_length(option::kEcho, 0));
  EXPECT_TRUE(has_valid_length(option::kEcho, 40));
  EXPECT_FALSE(has_valid_length(option::kEcho, 41));
  EXPECT_TRUE(has_valid_length(option::kSize1, 4));
  EXPECT_FALSE(has_valid_length(option::kSize1, 5));
  // Unknown options have no length rule here; criticality decides what happens to them.
  EXPECT_TRUE(has_valid_length(1001, 0));
  EXPECT_TRUE(has_valid_length(1001, 5000));
}

TEST(OptionRules, KnownOptionsAndNames) {
  EXPECT_TRUE(option::is_known(option::kUriPath));
  EXPECT_TRUE(option::is_known(option::kBlock1));
  EXPECT_TRUE(option::is_known(option::kEcho));
  EXPECT_TRUE(option::is_known(option::kRequestTag));
  EXPECT_FALSE(option::is_known(option::kOscore));
  EXPECT_FALSE(option::is_known(option::kProxyUri));
  EXPECT_FALSE(option::is_known(option::kProxyScheme));
  EXPECT_FALSE(option::is_known(1001));
  EXPECT_STREQ(option::name(option::kUriPath), "Uri-Path");
  EXPECT_STREQ(option::name(option::kContentFormat), "Content-Format");
  EXPECT_STREQ(option::name(option::kBlock2), "Block2");
  EXPECT_STREQ(option::name(9999), "Unknown");
}

}  // namespace
}  // namespace tether::coap
