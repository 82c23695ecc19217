// RFC 8323 section 3.2 framing: Len/TKL nibbles, extended lengths at their boundaries,
// signaling messages and the incremental frame decoder.
#include <gtest/gtest.h>

#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "coap/hex.hpp"
#include "coap/tcp_codec.hpp"

namespace tether::coap {

namespace {

using testing_hex::concat;
using testing_hex::hex;

// Over streams there is no type or MID; the decoder reports NON and MID 0.
Message msg(Code code, Bytes token = {}) {
  Message m;
  m.type = Type::kNonConfirmable;
  m.code = code;
  m.token = std::move(token);
  return m;
}

void expect_wire(const Message& m, const Bytes& wire) {
  const Bytes encoded = encode_tcp(m);
  if (wire.size() < 64) {
    EXPECT_EQ(to_hex(encoded), to_hex(wire));
  } else {
    EXPECT_TRUE(encoded == wire) << "first bytes " << to_hex(ByteView(encoded).first(8));
  }
  auto len = tcp_frame_length(wire);
  ASSERT_TRUE(len.ok()) << len.error().reason;
  ASSERT_TRUE(len->has_value());
  EXPECT_EQ(**len, wire.size());
  auto decoded = decode_tcp(wire);
  ASSERT_TRUE(decoded.ok()) << decoded.error().reason;
  EXPECT_TRUE(*decoded == m) << decoded->summary();
}

void expect_rejected(const Bytes& wire, std::string_view needle) {
  auto r = decode_tcp(wire);
  ASSERT_FALSE(r.ok()) << "decoded: " << r->summary();
  EXPECT_NE(r.error().reason.find(needle), std::string::npos) << "reason was: " << r.error().reason;
}

// A message whose options+payload part is exactly `body` bytes: a marker plus payload.
Message with_body(std::size_t body) {
  Message m = msg(codes::kContent);
  m.payload = Bytes(body - 1, 0x5a);
  return m;
}

// --- framing vectors ---------------------------------------------------------------------

TEST(TcpCodec, GetWithTokenAndUriPath) {
  Message m = msg(codes::kGet, hex("01"));
  m.options.add(option::kUriPath, "temperature");
  // Len 12 | TKL 1, GET, token, delta 11 len 11 "temperature"
  expect_wire(m, hex("c1 01 01  bb 74 65 6d 70 65 72 61 74 75 72 65"));
}

TEST(TcpCodec, TypeAndMessageIdAreNotOnTheWire) {
  Message m = msg(codes::kContent, hex("aa bb"));
  m.type = Type::kConfirmable;
  m.message_id = 0x1234;
  m.payload = to_bytes("hi");
  EXPECT_EQ(encode_tcp(m), hex("32 45 aa bb ff 68 69"));
  auto back = decode_tcp(encode_tcp(m));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->type, Type::kNonConfirmable);
  EXPECT_EQ(back->message_id, 0);
  EXPECT_EQ(back->payload, m.payload);
}

TEST(TcpCodec, EmptyBody) {
  expect_wire(msg(codes::kEmpty), hex("00 00"));
  expect_wire(msg(codes::kDeleted, hex("01 02 03 04 05 06 07 08")),
              hex("08 42 01 02 03 04 05 06 07 08"));
}

TEST(TcpCodec, BodyOfTwelveFitsInTheNibble) {
  expect_wire(with_body(12), concat(hex("c0 45 ff"), Bytes(11, 0x5a)));
}

TEST(TcpCodec, BodyOfThirteenTakesOneExtendedByte) {
  expect_wire(with_body(13), concat(hex("d0 00 45 ff"), Bytes(12, 0x5a)));
}

TEST(TcpCodec, BodyOf268IsTheLargestOneByteExtension) {
  expect_wire(with_body(268), concat(hex("d0 ff 45 ff"), Bytes(267, 0x5a)));
}

TEST(TcpCodec, BodyOf269TakesTwoExtendedBytes) {
  expect_wire(with_body(269), concat(hex("e0 00 00 45 ff"), Bytes(268, 0x5a)));
}

TEST(TcpCodec, BodyOf65804IsTheLargestTwoByteExtension) {
  expect_wire(with_body(65804), concat(hex("e0 ff ff 45 ff"), Bytes(65803, 0x5a)));
}

TEST(TcpCodec, BodyOf65805TakesFourExtendedBytes) {
  expect_wire(with_body(65805), concat(hex("f0 00 00 00 00 45 ff"), Bytes(65804, 0x5a)));
}

TEST(TcpCodec, FourByteExtensionCarriesHigherBytes) {
  // 65805 + 0x010203 = 131908: the extension holds 0x00010203.
  const std::size_t body = 65805 + 0x010203;
  Message m = with_body(body);
  m.token = hex("7e");
  expect_wire(m, concat(hex("f1 00 01 02 03 45 7e ff"), Bytes(body - 1, 0x5a)));
}

TEST(TcpCodec, FrameLengthNeedsTheWholeHeader) {
  auto none = tcp_frame_length(Bytes{});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  for (const char* partial : {"d0", "e0 00", "f0 00 00 00"}) {
    auto r = tcp_frame_length(hex(partial));
    ASSERT_TRUE(r.ok()) << partial;
    EXPECT_FALSE(r->has_value()) << partial;
  }
  // Once the extension is there the length is known, even without the code byte.
  auto r = tcp_frame_length(hex("f3 00 00 00 01"));
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ(**r, 1u + 4 + 1 + 3 + 65806);
}

// --- signaling (RFC 8323 section 5) -------------------------------------------------------

TEST(TcpSignaling, CsmWithMaxMessageSizeAndBlockWise) {
  Message csm = msg(codes::kCsm);
  csm.options.add_uint(option::kCsmMaxMessageSize, 1152);
  csm.options.add(option::kCsmBlockWiseTransfer, Bytes{});
  // Len 4, 7.01, delta 2 len 2 0x0480, delta 2 len 0
  expect_wire(csm, hex("40 e1 22 04 80 20"));
}

TEST(TcpSignaling, CsmWithLargeMaxMessageSize) {
  Message csm = msg(codes::kCsm);
  csm.options.add_uint(option::kCsmMaxMessageSize, 1152 * 64);
  expect_wire(csm, hex("40 e1 23 01 20 00"));
}

TEST(TcpSignaling, PingAndPong) {
  expect_wire(msg(codes::kPing), hex("00 e2"));
  expect_wire(msg(codes::kPong), hex("00 e3"));
  Message ping = msg(codes::kPing, hex("42"));
  ping.options.add(option::kPingCustody, Bytes{});
  expect_wire(ping, hex("11 e2 42 20"));
  expect_wire(msg(codes::kPong, hex("42")), hex("01 e3 42"));
}

TEST(TcpSignaling, ReleaseWithHoldOff) {
  Message release = msg(codes::kRelease);
  release.options.add_uint(option::kReleaseHoldOff, 30);
  expect_wire(release, hex("20 e4 41 1e"));
}

TEST(TcpSignaling, ReleaseWithAlternativeAddress) {
  Message release = msg(codes::kRelease);
  release.options.add(option::kReleaseAlternativeAddress, "coap+tcp://[::1]");
  // body 18 = 13 + 5; option delta 2, length 16 = 13 + 3
  expect_wire(release, concat(hex("d0 05 e4 2d 03"), to_bytes("coap+tcp://[::1]")));
}

TEST(TcpSignaling, AbortWithBadCsmOptionAndDiagnostic) {
  Message abort = msg(codes::kAbort);
  abort.options.add_uint(option::kAbortBadCsmOption, 2);
  abort.payload = to_bytes("bad csm");
  expect_wire(abort, hex("a0 e5 21 02 ff 62 61 64 20 63 73 6d"));
}

TEST(TcpCodec, RoundTripOfTokensAndOptions) {
  for (std::size_t tkl = 0; tkl <= kMaxTokenLength; ++tkl) {
    Message m = msg(codes::kPost, Bytes(tkl, static_cast<std::uint8_t>(tkl)));
    m.set_path("/rd");
    m.add_query("ep=node-" + std::to_string(tkl));
    m.add_query("lt=300");
    m.options.add(3000, Bytes(tkl * 40, 0x33));
    m.payload = Bytes(tkl * 100, 0x44);
    auto back = decode_tcp(encode_tcp(m));
    ASSERT_TRUE(back.ok()) << back.error().reason;
    EXPECT_EQ(*back, m);
  }
}

TEST(TcpCodec, EncodeRejectsLongToken) {
  EXPECT_THROW(encode_tcp(msg(codes::kGet, Bytes(9, 1))), std::invalid_argument);
}

// --- decode_tcp rejections -----------------------------------------------------------------

TEST(TcpCodecReject, TruncatedHeader) {
  expect_rejected(Bytes{}, "truncated");
  expect_rejected(hex("d0"), "truncated");
  expect_rejected(hex("f0 00 00"), "truncated");
}

TEST(TcpCodecReject, ReservedTokenLength) {
  for (int tkl = 9; tkl <= 15; ++tkl) {
    Bytes wire = hex("00 01");
    wire[0] = static_cast<std::uint8_t>(tkl);
    wire.resize(2 + static_cast<std::size_t>(tkl), 0);
    expect_rejected(wire, "token length");
  }
}

TEST(TcpCodecReject, FrameShorterThanItsLength) {
  expect_rejected(hex("30 45 ff 61"), "shorter");
  expect_rejected(hex("02 45 aa"), "shorter");
}

TEST(TcpCodecReject, TrailingBytes) {
  expect_rejected(hex("00 e2 00"), "after the end");
}

TEST(TcpCodecReject, ReservedCodeClasses) {
  expect_rejected(hex("00 20"), "reserved code class 1");
  expect_rejected(hex("00 c1"), "reserved code class 6");
}

TEST(TcpCodecReject, MalformedOptionsInsideTheFrame) {
  expect_rejected(hex("10 01 f0"), "delta nibble 15");
  expect_rejected(hex("10 01 0f"), "length nibble 15");
  expect_rejected(hex("20 01 b3 61"), "past the end");
  expect_rejected(hex("10 45 ff"), "payload marker");
  expect_rejected(hex("10 01 d0"), "truncated extended");
}

TEST(TcpCodecReject, EmptyMessageWithOptionsOrPayload) {
  expect_rejected(hex("20 00 b1 61"), "empty message");
  expect_rejected(hex("20 00 ff 61"), "empty message");
}

// --- TcpFrameDecoder ----------------------------------------------------------------------

std::vector<Message> sample_messages() {
  std::vector<Message> out;
  Message csm = msg(codes::kCsm);
  csm.options.add_uint(option::kCsmMaxMessageSize, 4096);
  csm.options.add(option::kCsmBlockWiseTransfer, Bytes{});
  out.push_back(csm);
  Message get = msg(codes::kGet, hex("01 02"));
  get.set_path("/3/0/1");
  out.push_back(get);
  out.push_back(msg(codes::kPing));
  Message big = msg(codes::kContent, hex("01 02"));
  big.set_content_format(content_format::kSenmlCbor);
  big.payload = Bytes(1500, 0x9c);
  out.push_back(big);
  out.push_back(msg(codes::kPong, hex("ff")));
  out.push_back(with_body(269));
  out.push_back(msg(codes::kEmpty));
  return out;
}

Bytes stream_of(const std::vector<Message>& messages) {
  Bytes stream;
  for (const auto& m : messages) encode_tcp(m, stream);
  return stream;
}

// Takes every complete frame out of the decoder.
std::vector<Message> drain(TcpFrameDecoder& d) {
  std::vector<Message> out;
  for (;;) {
    auto r = d.next();
    EXPECT_TRUE(r.ok()) << r.error().reason;
    if (!r.ok() || !r->has_value()) return out;
    out.push_back(std::move(**r));
  }
}

TEST(TcpFrameDecoder, WholeStreamAtOnce) {
  const auto messages = sample_messages();
  TcpFrameDecoder d(8192);
  d.feed(stream_of(messages));
  EXPECT_EQ(drain(d), messages);
  EXPECT_EQ(d.buffered(), 0u);
}

TEST(TcpFrameDecoder, ByteByByte) {
  const auto messages = sample_messages();
  const Bytes stream = stream_of(messages);
  TcpFrameDecoder d(8192);
  std::vector<Message> got;
  for (std::uint8_t b : stream) {
    d.feed(ByteView(&b, 1));
    for (auto& m : drain(d)) got.push_back(std::move(m));
  }
  EXPECT_EQ(got, messages);
  EXPECT_EQ(d.buffered(), 0u);
}

TEST(TcpFrameDecoder, ArbitraryChunks) {
  const auto messages = sample_messages();
  const Bytes stream = stream_of(messages);
  std::mt19937 rng(20240601);
  for (int round = 0; round < 50; ++round) {
    std::uniform_int_distribution<std::size_t> chunk(1, round < 25 ? 7 : 600);
    TcpFrameDecoder d(8192);
    std::vector<Message> got;
    std::size_t pos = 0;
    while (pos < stream.size()) {
      const std::size_t n = std::min(chunk(rng), stream.size() - pos);
      d.feed(ByteView(stream).subspan(pos, n));
      pos += n;
      for (auto& m : drain(d)) got.push_back(std::move(m));
    }
    ASSERT_EQ(got, messages) << "round " << round;
    EXPECT_EQ(d.buffered(), 0u);
  }
}

TEST(TcpFrameDecoder, PartialFrameStaysBuffered) {
  TcpFrameDecoder d(1024);
  const Bytes frame = hex("32 45 aa bb ff 68 69");
  d.feed(ByteView(frame).first(4));
  auto r = d.next();
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  EXPECT_EQ(d.buffered(), 4u);
  d.feed(ByteView(frame).subspan(4));
  r = d.next();
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->payload, to_bytes("hi"));
}

TEST(TcpFrameDecoder, OversizeFrameIsFatal) {
  TcpFrameDecoder d(64);
  d.feed(encode_tcp(with_body(200)));
  auto r = d.next();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().reason.find("Max-Message-Size"), std::string::npos) << r.error().reason;
  // Fatal: the stream cannot be resynchronised, even with good frames behind it.
  d.feed(hex("00 e2"));
  EXPECT_FALSE(d.next().ok());
}

TEST(TcpFrameDecoder, OversizeIsDetectedFromTheHeaderAlone) {
  TcpFrameDecoder d(1024);
  d.feed(hex("f0 00 10 00 00"));  // a 1 MiB body announced, nothing of it sent yet
  EXPECT_FALSE(d.next().ok());
}

TEST(TcpFrameDecoder, SmallFrameUnderTheLimitIsAccepted) {
  TcpFrameDecoder d(64);
  d.feed(encode_tcp(with_body(60)));
  auto r = d.next();
  ASSERT_TRUE(r.ok()) << r.error().reason;
  EXPECT_TRUE(r->has_value());
}

TEST(TcpFrameDecoder, RaisedLimitAcceptsLargerFrames) {
  TcpFrameDecoder d(64);
  d.set_max_message_size(4096);
  d.feed(encode_tcp(with_body(1000)));
  auto r = d.next();
  ASSERT_TRUE(r.ok()) << r.error().reason;
  EXPECT_TRUE(r->has_value());
}

TEST(TcpFrameDecoder, GarbageHeaderIsFatal) {
  TcpFrameDecoder d(1024);
  d.feed(hex("00 e2"));
  d.feed(hex("0f 01"));  // TKL 15
  auto first = d.next();
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ((*first)->code, codes::kPing);
  auto second = d.next();
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().reason.find("token length"), std::string::npos);
  EXPECT_FALSE(d.next().ok());
}

TEST(TcpFrameDecoder, MalformedBodyIsFatal) {
  TcpFrameDecoder d(1024);
  d.feed(hex("10 01 f0  00 e2"));
  EXPECT_FALSE(d.next().ok());
  EXPECT_FALSE(d.next().ok());
}

TEST(TcpFrameDecoder, ManySmallFramesKeepTheBufferBounded) {
  TcpFrameDecoder d(1024);
  const Bytes ping = hex("00 e2");
  std::size_t frames = 0;
  for (int i = 0; i < 10000; ++i) {
    d.feed(ping);
    d.feed(ByteView(ping).first(1));  // leave half a frame behind each time
    auto r = d.next();
    ASSERT_TRUE(r.ok());
    frames += r->has_value() ? 1u : 0u;
    d.feed(ByteView(ping).subspan(1));
    r = d.next();
    ASSERT_TRUE(r.ok());
    frames += r->has_value() ? 1u : 0u;
    EXPECT_LE(d.buffered(), 4u);
  }
  EXPECT_EQ(frames, 20000u);
}

}  // namespace
}  // namespace tether::coap
