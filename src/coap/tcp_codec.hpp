#pragma once
// RFC 8323 section 3.2 framing for CoAP over TCP and TLS: Len/TKL nibbles, extended
// length, code, token, options, payload. No type and no message ID.
#include <cstddef>
#include <optional>

#include "coap/message.hpp"
#include "common/result.hpp"

namespace tether::coap {

void encode_tcp(const Message& m, Bytes& out);
Bytes encode_tcp(const Message& m);

// Decodes exactly one complete frame.
Result<Message> decode_tcp(ByteView frame);

// Splits a byte stream into frames. Feed it what the socket gave; take frames until it
// has no complete one. A frame over `max_message_size` or a malformed header is fatal for
// the connection (RFC 8323 5.6: Abort).
class TcpFrameDecoder {
 public:
  explicit TcpFrameDecoder(std::size_t max_message_size) : max_(max_message_size) {}

  void feed(ByteView bytes);
  // A decoded message, nothing yet (nullopt inside an ok Result), or a fatal error.
  Result<std::optional<Message>> next();
  void set_max_message_size(std::size_t max) { max_ = max; }
  std::size_t buffered() const { return buffer_.size() - start_; }

 private:
  Bytes buffer_;
  std::size_t start_ = 0;
  std::size_t max_;
  bool failed_ = false;
};

// Length of the frame starting at `in`, or nullopt when more bytes are needed.
Result<std::optional<std::size_t>> tcp_frame_length(ByteView in);

}  // namespace tether::coap
