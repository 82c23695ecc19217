// RFC 7252 section 3 datagram encoding: hand-derived byte vectors, round trips and the
// strict decoder's rejections.
#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "coap/hex.hpp"
#include "coap/udp_codec.hpp"

namespace tether::coap {

namespace {

using testing_hex::concat;
using testing_hex::hex;

// Encodes, compares with the expected wire bytes, decodes them back and compares again.
void expect_wire(const Message& m, const Bytes& wire) {
  EXPECT_EQ(to_hex(encode_udp(m)), to_hex(wire));
  auto decoded = decode_udp(wire);
  ASSERT_TRUE(decoded.ok()) << decoded.error().reason;
  EXPECT_EQ(*decoded, m);
  EXPECT_EQ(encode_udp(*decoded), wire);
}

// Decoding must fail and the reason must mention `needle`.
void expect_rejected(const Bytes& wire, std::string_view needle) {
  auto r = decode_udp(wire);
  ASSERT_FALSE(r.ok()) << "decoded: " << r->summary();
  EXPECT_FALSE(r.error().reason.empty());
  EXPECT_NE(r.error().reason.find(needle), std::string::npos) << "reason was: " << r.error().reason;
}

Message msg(Type type, Code code, std::uint16_t mid) {
  Message m;
  m.type = type;
  m.code = code;
  m.message_id = mid;
  return m;
}

// --- RFC 7252 Appendix A style exchanges -----------------------------------------------

TEST(UdpCodec, ConGetWithUriPath) {
  Message m = msg(Type::kConfirmable, codes::kGet, 0x7d34);
  m.options.add(option::kUriPath, "temperature");
  // Ver 1, CON, TKL 0 | GET | MID | delta 11 len 11 | "temperature"
  expect_wire(m, hex("40 01 7d 34  bb 74 65 6d 70 65 72 61 74 75 72 65"));
}

TEST(UdpCodec, PiggybackedAckWithPayload) {
  Message m = msg(Type::kAcknowledgement, codes::kContent, 0x7d34);
  m.payload = to_bytes("22.3 C");
  expect_wire(m, hex("60 45 7d 34  ff 32 32 2e 33 20 43"));
}

TEST(UdpCodec, ConGetWithTokenAndItsPiggybackedAnswer) {
  Message req = msg(Type::kConfirmable, codes::kGet, 0x7d35);
  req.token = hex("20");
  req.options.add(option::kUriPath, "temperature");
  expect_wire(req, hex("41 01 7d 35 20  bb 74 65 6d 70 65 72 61 74 75 72 65"));

  Message resp = msg(Type::kAcknowledgement, codes::kContent, 0x7d35);
  resp.token = hex("20");
  resp.payload = to_bytes("22.5 C");
  expect_wire(resp, hex("61 45 7d 35 20  ff 32 32 2e 35 20 43"));
}

TEST(UdpCodec, EightByteToken) {
  Message m = msg(Type::kNonConfirmable, codes::kPost, 0x0102);
  m.token = hex("01 23 45 67 89 ab cd ef");
  expect_wire(m, hex("58 02 01 02  01 23 45 67 89 ab cd ef"));
}

TEST(UdpCodec, EmptyAck) {
  expect_wire(msg(Type::kAcknowledgement, codes::kEmpty, 0x7d38), hex("60 00 7d 38"));
}

TEST(UdpCodec, Reset) {
  expect_wire(msg(Type::kReset, codes::kEmpty, 0x7d38), hex("70 00 7d 38"));
}

TEST(UdpCodec, EmptyConIsACoapPing) {
  expect_wire(msg(Type::kConfirmable, codes::kEmpty, 0xffff), hex("40 00 ff ff"));
}

TEST(UdpCodec, SeparateResponseAsCon) {
  Message m = msg(Type::kConfirmable, codes::kContent, 0xa7c0);
  m.token = hex("71");
  m.options.add_uint(option::kContentFormat, 0);  // text/plain: zero-length value
  m.payload = to_bytes("x");
  // delta 12 len 0
  expect_wire(m, hex("41 45 a7 c0 71  c0  ff 78"));
}

TEST(UdpCodec, EncodeAppendsToExistingBuffer) {
  Bytes out = hex("aa bb");
  encode_udp(msg(Type::kAcknowledgement, codes::kEmpty, 1), out);
  EXPECT_EQ(out, hex("aa bb 60 00 00 01"));
}

// --- option header: deltas and lengths ---------------------------------------------------

TEST(UdpCodec, DeltaTwelveFitsInTheNibble) {
  Message m = msg(Type::kConfirmable, codes::kGet, 1);
  m.options.add(option::kContentFormat, Bytes{});
  expect_wire(m, hex("40 01 00 01  c0"));
}

TEST(UdpCodec, DeltaThirteenUsesOneExtendedByte) {
  Message m = msg(Type::kConfirmable, codes::kGet, 1);
  m.options.add(13, Bytes{});
  expect_wire(m, hex("40 01 00 01  d0 00"));
}

TEST(UdpCodec, DeltaBetween13And268UsesOneExtendedByte) {
  Message m = msg(Type::kConfirmable, codes::kGet, 1);
  m.options.add_uint(option::kSize1, 1024);  // 60 = 13 + 47
  expect_wire(m, hex("40 01 00 01  d2 2f 04 00"));

  Message top = msg(Type::kConfirmable, codes::kGet, 2);
  top.options.add(268, Bytes{});  // 268 = 13 + 255
  expect_wire(top, hex("40 01 00 02  d0 ff"));
}

TEST(UdpCodec, Delta269UsesTwoExtendedBytes) {
  Message m = msg(Type::kConfirmable, codes::kGet, 1);
  m.options.add(269, Bytes{});
  expect_wire(m, hex("40 01 00 01  e0 00 00"));
}

TEST(UdpCodec, LargeDeltasUseTwoExtendedBytes) {
  Message m = msg(Type::kConfirmable, codes::kGet, 1);
  m.options.add(2000, hex("aa"));   // 2000 - 269 = 0x06c3
  m.options.add(65535, hex("bb"));  // delta 63535 - 269 = 0xf722
  expect_wire(m, hex("40 01 00 01  e1 06 c3 aa  e1 f7 22 bb"));
}

TEST(UdpCodec, HighestOptionNumberFromZero) {
  Message m = msg(Type::kConfirmable, codes::kGet, 1);
  m.options.add(65535, Bytes{});  // 65535 - 269 = 0xfef2
  expect_wire(m, hex("40 01 00 01  e0 fe f2"));
}

TEST(UdpCodec, DeltasAreRelativeToThePreviousOption) {
  Message m = msg(Type::kConfirmable, codes::kPost, 0x1234);
  m.options.add(option::kUriPath, "rd");
  m.options.add(option::kContentFormat, encode_uint(40));
  m.options.add(option::kUriQuery, "b=U");
  // 11 (delta 11), 12 (delta 1), 15 (delta 3)
  expect_wire(m, hex("40 02 12 34  b2 72 64  11 28  33 62 3d 55"));
}

TEST(UdpCodec, RepeatedOptionsUseDeltaZero) {
  Message m = msg(Type::kConfirmable, codes::kGet, 0x0a0b);
  m.set_path("/3/0/1");
  expect_wire(m, hex("40 01 0a 0b  b1 33  01 30  01 31"));
  EXPECT_EQ(m.path(), "/3/0/1");
}

TEST(UdpCodec, LengthTwelveFitsInTheNibble) {
  Message m = msg(Type::kConfirmable, codes::kGet, 1);
  m.options.add(option::kUriPath, Bytes(12, 0x61));
  expect_wire(m, concat(hex("40 01 00 01 bc"), Bytes(12, 0x61)));
}

TEST(UdpCodec, LengthThirteenUsesOneExtendedByte) {
  Message m = msg(Type::kConfirmable, codes::kGet, 1);
  m.options.add(option::kUriPath, Bytes(13, 0x62));
  expect_wire(m, concat(hex("40 01 00 01 bd 00"), Bytes(13, 0x62)));
}

TEST(UdpCodec, Length268UsesOneExtendedByte) {
  Message m = msg(Type::kConfirmable, codes::kGet, 1);
  m.options.add(option::kProxyUri, Bytes(268, 0x63));
  // delta 35 = 13 + 22, length 268 = 13 + 255
  expect_wire(m, concat(hex("40 01 00 01 dd 16 ff"), Bytes(268, 0x63)));
}

TEST(UdpCodec, Length269AndAboveUseTwoExtendedBytes) {
  Message m = msg(Type::kConfirmable, codes::kGet, 1);
  m.options.add(option::kProxyUri, Bytes(269, 0x64));
  expect_wire(m, concat(hex("40 01 00 01 de 16 00 00"), Bytes(269, 0x64)));

  Message big = msg(Type::kConfirmable, codes::kGet, 1);
  big.options.add(option::kProxyUri, Bytes(1034, 0x65));  // 1034 - 269 = 0x02fd
  expect_wire(big, concat(hex("40 01 00 01 de 16 02 fd"), Bytes(1034, 0x65)));
}

TEST(UdpCodec, ExtendedDeltaAndLengthTogether) {
  Message m = msg(Type::kConfirmable, codes::kGet, 1);
  m.options.add(300, Bytes(20, 0x01));  // delta 300 - 269 = 0x001f, length 20 - 13 = 7
  expect_wire(m, concat(hex("40 01 00 01 ed 00 1f 07"), Bytes(20, 0x01)));
}

TEST(UdpCodec, OptionsAndPayloadTogether) {
  Message m = msg(Type::kNonConfirmable, codes::kContent, 0xbeef);
  m.token = hex("c0 ff ee");
  m.set_observe(12);
  m.set_content_format(content_format::kSenmlCbor);
  m.payload = hex("81 a2 00 61 41 02 18 2a");
  // Observe (6) delta 6 len 1 0c | Content-Format (12) delta 6 len 1 70 | ff payload
  expect_wire(m, hex("53 45 be ef c0 ff ee  61 0c  61 70  ff 81 a2 00 61 41 02 18 2a"));
}

TEST(UdpCodec, PayloadMayContainTheMarkerByte) {
  Message m = msg(Type::kNonConfirmable, codes::kContent, 7);
  m.payload = hex("ff ff 00");
  expect_wire(m, hex("50 45 00 07 ff ff ff 00"));
}

TEST(UdpCodec, OptionsSizeMatchesEncoding) {
  Message m = msg(Type::kConfirmable, codes::kPut, 3);
  m.options.add(option::kUriPath, "a");
  m.options.add(500, Bytes(300, 0));
  m.payload = Bytes(10, 1);
  Bytes rest;
  encode_options_and_payload(m, rest);
  EXPECT_EQ(rest.size(), options_and_payload_size(m));
  EXPECT_EQ(encode_udp(m).size(), 4 + rest.size());
}

TEST(UdpCodec, RoundTripOfAllTypesAndCodes) {
  const Code codes_to_try[] = {codes::kGet,           codes::kPost,
                               codes::kDelete,        codes::kFetch,
                               codes::kIPatch,        codes::kCreated,
                               codes::kContent,       codes::kContinue,
                               codes::kNotFound,      codes::kRequestEntityTooLarge,
                               codes::kGatewayTimeout};
  for (Code c : codes_to_try) {
    for (Type t : {Type::kConfirmable, Type::kNonConfirmable, Type::kAcknowledgement}) {
      if (t == Type::kAcknowledgement && c.is_request()) continue;
      Message m = msg(t, c, static_cast<std::uint16_t>(c.value * 257));
      m.token = hex("01 02 03 04");
      m.options.add(option::kETag, hex("12 34"));
      m.options.add(option::kUriHost, "example.net");
      m.payload = to_bytes(c.to_string());
      auto back = decode_udp(encode_udp(m));
      ASSERT_TRUE(back.ok()) << back.error().reason;
      EXPECT_EQ(*back, m) << m.summary();
    }
  }
}

TEST(UdpCodec, EncodeRejectsLongToken) {
  Message m = msg(Type::kConfirmable, codes::kGet, 1);
  m.token = Bytes(9, 0);
  EXPECT_THROW(encode_udp(m), std::invalid_argument);
}

TEST(UdpCodec, PeekHeaderOfUndecodableDatagram) {
  const Bytes wire = hex("40 01 12 34 f0");  // delta nibble 15 is a format error
  EXPECT_FALSE(decode_udp(wire).ok());
  auto h = peek_udp_header(wire);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->type, Type::kConfirmable);
  EXPECT_EQ(h->message_id, 0x1234);
  EXPECT_FALSE(peek_udp_header(hex("40 01 12")).has_value());
  EXPECT_FALSE(peek_udp_header(hex("80 01 12 34")).has_value());
}

// --- strict rejection ------------------------------------------------------------------

TEST(UdpCodecReject, ShorterThanHeader) {
  expect_rejected(Bytes{}, "shorter");
  expect_rejected(hex("40"), "shorter");
  expect_rejected(hex("40 01 00"), "shorter");
}

TEST(UdpCodecReject, VersionOtherThanOne) {
  expect_rejected(hex("00 01 00 01"), "version");
  expect_rejected(hex("80 01 00 01"), "version");
  expect_rejected(hex("c0 01 00 01"), "version");
}

TEST(UdpCodecReject, ReservedTokenLengths) {
  for (int tkl = 9; tkl <= 15; ++tkl) {
    Bytes wire = hex("40 01 00 01");
    wire[0] = static_cast<std::uint8_t>(0x40 | tkl);
    wire.resize(4 + 16, 0);  // enough bytes that only the TKL is wrong
    expect_rejected(wire, "token length");
  }
}

TEST(UdpCodecReject, TruncatedToken) {
  expect_rejected(hex("44 01 00 01 aa bb bc"), "token");
  expect_rejected(hex("48 45 00 01"), "token");
}

TEST(UdpCodecReject, DeltaNibbleFifteenThatIsNotTheMarker) {
  expect_rejected(hex("40 01 00 01 f0"), "delta nibble 15");
  expect_rejected(hex("40 01 00 01 f1 61"), "delta nibble 15");
  expect_rejected(hex("40 01 00 01 b1 61 fd"), "delta nibble 15");
}

TEST(UdpCodecReject, LengthNibbleFifteen) {
  expect_rejected(hex("40 01 00 01 bf 61"), "length nibble 15");
  expect_rejected(hex("40 01 00 01 0f"), "length nibble 15");
}

TEST(UdpCodecReject, TruncatedExtendedDelta) {
  expect_rejected(hex("40 01 00 01 d0"), "truncated extended option delta");
  expect_rejected(hex("40 01 00 01 e0 01"), "truncated extended option delta");
}

TEST(UdpCodecReject, TruncatedExtendedLength) {
  expect_rejected(hex("40 01 00 01 bd"), "truncated extended option length");
  expect_rejected(hex("40 01 00 01 be 01"), "truncated extended option length");
  expect_rejected(hex("40 01 00 01 dd 00"), "truncated extended option length");
}

TEST(UdpCodecReject, OptionValuePastTheEnd) {
  expect_rejected(hex("40 01 00 01 b3 61 62"), "past the end");
  expect_rejected(concat(hex("40 01 00 01 bd 00"), Bytes(12, 0x61)), "past the end");
}

TEST(UdpCodecReject, PayloadMarkerWithoutPayload) {
  expect_rejected(hex("40 45 00 01 ff"), "payload marker");
  expect_rejected(hex("41 45 00 01 aa b1 61 ff"), "payload marker");
}

TEST(UdpCodecReject, EmptyMessageWithTokenOrBytes) {
  expect_rejected(hex("41 00 00 01 aa"), "empty message");
  expect_rejected(hex("60 00 00 01 ff 01"), "empty message");
  expect_rejected(hex("40 00 00 01 b1 61"), "empty message");
  // TKL says 1 but nothing follows: still not a valid empty message.
  expect_rejected(hex("61 00 00 01"), "token");
}

TEST(UdpCodecReject, ReservedCodeClasses) {
  expect_rejected(hex("40 20 00 01"), "reserved code class 1");
  expect_rejected(hex("40 3f 00 01"), "reserved code class 1");
  expect_rejected(hex("40 c0 00 01"), "reserved code class 6");
  expect_rejected(hex("40 e1 00 01"), "reserved code class 7");  // CSM is TCP only
  expect_rejected(hex("50 e2 00 01"), "reserved code class 7");
}

TEST(UdpCodecReject, ResetThatIsNotEmpty) {
  expect_rejected(hex("70 01 00 01"), "reset");
  expect_rejected(hex("70 45 00 01"), "reset");
}

TEST(UdpCodecReject, AckCarryingARequest) {
  expect_rejected(hex("60 01 00 01"), "acknowledgement");
  expect_rejected(hex("60 02 00 01 b2 72 64"), "acknowledgement");
}

TEST(UdpCodecReject, OptionNumberOverflow) {
  // 65535 + 1
  expect_rejected(hex("40 01 00 01 e0 fe f2 10"), "65535");
  // A single delta of 269 + 0xffff.
  expect_rejected(hex("40 01 00 01 e0 ff ff"), "65535");
}

TEST(UdpCodecReject, TruncationInsideHeaderTokenOrOptions) {
  Message m = msg(Type::kConfirmable, codes::kPost, 0x4242);
  m.token = hex("0a 0b 0c");
  m.options.add(option::kUriPath, "rd");
  m.options.add(option::kProxyUri, Bytes(300, 0x70));
  m.options.add(1000, Bytes(14, 0x71));
  m.payload = to_bytes("</1/0>,</3/0>");
  const Bytes wire = encode_udp(m);
  ASSERT_EQ(*decode_udp(wire), m);
  // UDP has no length field, so a cut exactly between two options still decodes (to a
  // message with fewer options); every other cut before the payload is an error.
  std::vector<std::size_t> boundaries;
  Message prefix = m;
  prefix.payload.clear();
  prefix.options = Options{};
  boundaries.push_back(encode_udp(prefix).size());
  for (const auto& o : m.options.list()) {
    prefix.options.add(o.number, o.value);
    boundaries.push_back(encode_udp(prefix).size());
  }
  ASSERT_EQ(boundaries, (std::vector<std::size_t>{7, 10, 314, 332}));
  const std::size_t payload_at = wire.size() - m.payload.size();
  for (std::size_t cut = 0; cut < payload_at; ++cut) {
    auto r = decode_udp(ByteView(wire).first(cut));
    const bool at_boundary =
        std::find(boundaries.begin(), boundaries.end(), cut) != boundaries.end();
    EXPECT_EQ(r.ok(), at_boundary) << "cut at " << cut;
  }
}

}  // namespace
}  // namespace tether::coap
