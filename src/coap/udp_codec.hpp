#pragma once
// RFC 7252 section 3 message format, as carried in a UDP or DTLS datagram (and SMS,
// LoRaWAN and NIDD payloads).
#include "coap/message.hpp"
#include "common/result.hpp"

namespace tether::coap {

// Appends the encoding of `m` to `out`. The token must be at most 8 bytes.
void encode_udp(const Message& m, Bytes& out);
Bytes encode_udp(const Message& m);

// Strict: any deviation from RFC 7252 section 3 is an error with a reason.
Result<Message> decode_udp(ByteView datagram);

// Fields that can still be read from a datagram that fails to decode, so that a
// CON with a format error can be answered with a matching RST (RFC 7252 4.2).
struct DatagramHeader {
  Type type;
  std::uint16_t message_id;
};
std::optional<DatagramHeader> peek_udp_header(ByteView datagram);

// Option sequence + payload marker + payload (shared with RFC 8323 framing).
void encode_options_and_payload(const Message& m, Bytes& out);
// Only the options `keep` accepts (OSCORE's inner message, RFC 8613 4.1).
void encode_options_and_payload(const Message& m, Bytes& out, bool (*keep)(std::uint16_t));
Result<Ok> decode_options_and_payload(ByteView rest, Message& m);
// The options alone; the offset where the payload starts (the end when there is none).
Result<std::size_t> decode_options(ByteView rest, Options& options);
std::size_t options_and_payload_size(const Message& m);

}  // namespace tether::coap
