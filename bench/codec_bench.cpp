// Encode and decode cost of typical LwM2M messages over UDP (RFC 7252) and TCP (RFC 8323)
// framing. The "wire_bytes" counter is the encoded size of one message.
#include <benchmark/benchmark.h>

#include <string>

#include "coap/block_option.hpp"
#include "coap/tcp_codec.hpp"
#include "coap/udp_codec.hpp"

namespace {
using namespace tether;
using namespace tether::coap;

enum class Kind { kRegister, kReadResponse, kNotification, kEmptyAck, kBlock2Response };

const Bytes kToken{0x3a, 0x91, 0x0c, 0x5e, 0x27, 0xd4, 0x60, 0xb8};

// LwM2M Register (Transport TS 6.2.1 / Core TS 6.2): POST /rd?ep=..&lt=..&lwm2m=..&b=..
// with the object links in CoRE link format.
Message register_request() {
  Message m = make_request(codes::kPost, "/rd");
  m.type = Type::kConfirmable;
  m.message_id = 0x1a2b;
  m.token = kToken;
  m.add_query("ep=urn:imei:490154203237518");
  m.add_query("lt=86400");
  m.add_query("lwm2m=1.2");
  m.add_query("b=U");
  m.set_content_format(content_format::kLinkFormat);
  m.payload = to_bytes(
      "</>;rt=\"oma.lwm2m\";ct=112,</1/0>,</3/0>,</4/0>,</5/0>,</3303/0>;ver=1.1,"
      "</3303/1>,</3442/0>,</1/1>,</1/2>,</4/1>,</6/0>");
  return m;
}

// A piggybacked 2.05 to a Read, carrying SenML CBOR (an opaque blob of about 60 bytes here).
Message read_response() {
  Message m;
  m.type = Type::kAcknowledgement;
  m.code = codes::kContent;
  m.message_id = 0x1a2c;
  m.token = kToken;
  m.set_content_format(content_format::kSenmlCbor);
  Bytes payload;
  for (int i = 0; i < 60; ++i) payload.push_back(static_cast<std::uint8_t>(0x80 + i * 7));
  m.payload = std::move(payload);
  return m;
}

Message notification() {
  Message m;
  m.type = Type::kNonConfirmable;
  m.code = codes::kContent;
  m.message_id = 0x1a2d;
  m.token = Bytes(kToken.begin(), kToken.begin() + 4);
  m.set_observe(0x01f3);
  m.set_content_format(content_format::kSenmlCbor);
  m.payload = Bytes{0x81, 0xa3, 0x00, 0x6b, 0x2f, 0x33, 0x33, 0x30, 0x33, 0x2f, 0x30,
                    0x2f, 0x35, 0x37, 0x30, 0x02, 0xfb, 0x40, 0x36, 0x4c, 0xcc, 0xcc,
                    0xcc, 0xcc, 0xcd, 0x06, 0x1a, 0x65, 0x5e, 0x2f, 0x00};
  return m;
}

Message empty_ack() {
  Message m;
  m.type = Type::kAcknowledgement;
  m.code = codes::kEmpty;
  m.message_id = 0x1a2e;
  return m;
}

// The second 1024-byte block of a larger Read response.
Message block2_response() {
  Message m;
  m.type = Type::kAcknowledgement;
  m.code = codes::kContent;
  m.message_id = 0x1a2f;
  m.token = kToken;
  m.set_content_format(content_format::kSenmlCbor);
  set_block(m, option::kBlock2, BlockOption{1, true, 6});
  m.options.set_uint(option::kSize2, 4000);
  m.payload = Bytes(1024, 0x5a);
  return m;
}

Message make(Kind kind) {
  switch (kind) {
    case Kind::kRegister:
      return register_request();
    case Kind::kReadResponse:
      return read_response();
    case Kind::kNotification:
      return notification();
    case Kind::kEmptyAck:
      return empty_ack();
    case Kind::kBlock2Response:
      return block2_response();
  }
  return {};
}

void report(benchmark::State& state, std::size_t wire_bytes) {
  state.counters["wire_bytes"] = static_cast<double>(wire_bytes);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(wire_bytes));
}

void BM_EncodeUdp(benchmark::State& state, Kind kind) {
  const Message m = make(kind);
  std::size_t size = 0;
  for (auto _ : state) {
    Bytes wire = encode_udp(m);
    size = wire.size();
    benchmark::DoNotOptimize(wire.data());
  }
  report(state, size);
}

void BM_DecodeUdp(benchmark::State& state, Kind kind) {
  const Bytes wire = encode_udp(make(kind));
  for (auto _ : state) {
    auto m = decode_udp(wire);
    if (!m) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(m);
  }
  report(state, wire.size());
}

void BM_EncodeTcp(benchmark::State& state, Kind kind) {
  const Message m = make(kind);
  std::size_t size = 0;
  for (auto _ : state) {
    Bytes wire = encode_tcp(m);
    size = wire.size();
    benchmark::DoNotOptimize(wire.data());
  }
  report(state, size);
}

void BM_DecodeTcp(benchmark::State& state, Kind kind) {
  const Bytes wire = encode_tcp(make(kind));
  for (auto _ : state) {
    auto m = decode_tcp(wire);
    if (!m) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(m);
  }
  report(state, wire.size());
}

// The stream path as the stream layer runs it: feed a read into the frame decoder, take
// the frame out.
void BM_TcpFrameDecoder(benchmark::State& state, Kind kind) {
  const Bytes wire = encode_tcp(make(kind));
  TcpFrameDecoder decoder(1 << 20);
  for (auto _ : state) {
    decoder.feed(wire);
    auto m = decoder.next();
    if (!m || !m->has_value()) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(m);
  }
  report(state, wire.size());
}

#define TETHER_CODEC_BENCH(fn)                               \
  BENCHMARK_CAPTURE(fn, register, Kind::kRegister);          \
  BENCHMARK_CAPTURE(fn, read_response, Kind::kReadResponse); \
  BENCHMARK_CAPTURE(fn, notification, Kind::kNotification);  \
  BENCHMARK_CAPTURE(fn, empty_ack, Kind::kEmptyAck);         \
  BENCHMARK_CAPTURE(fn, block2_response, Kind::kBlock2Response)

TETHER_CODEC_BENCH(BM_EncodeUdp);
TETHER_CODEC_BENCH(BM_DecodeUdp);
TETHER_CODEC_BENCH(BM_EncodeTcp);
TETHER_CODEC_BENCH(BM_DecodeTcp);
TETHER_CODEC_BENCH(BM_TcpFrameDecoder);

}  // namespace
