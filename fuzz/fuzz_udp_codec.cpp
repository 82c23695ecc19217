// decode_udp on arbitrary datagrams. A datagram that decodes must re-encode to the very
// same bytes (every field has a single wire form) and decode again to an equal message.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "coap/block_option.hpp"
#include "coap/tcp_codec.hpp"
#include "coap/udp_codec.hpp"

namespace {
using namespace tether;
using namespace tether::coap;

[[noreturn]] void mismatch(const char* what, ByteView input) {
  std::fprintf(stderr, "fuzz_udp_codec: %s for input %s\n", what, to_hex(input).c_str());
  std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteView in(data, size);
  auto decoded = decode_udp(in);
  if (!decoded) {
    if (decoded.error().reason.empty()) mismatch("error without a reason", in);
    (void)peek_udp_header(in);
    return 0;
  }
  const Message& m = *decoded;

  const Bytes wire = encode_udp(m);
  if (wire.size() != size || !std::equal(wire.begin(), wire.end(), data)) {
    mismatch("re-encoding differs from the input", in);
  }
  if (options_and_payload_size(m) != size - 4 - m.token.size()) {
    mismatch("options_and_payload_size disagrees", in);
  }
  auto again = decode_udp(wire);
  if (!again) mismatch("re-encoded message does not decode", in);
  if (!(*again == m)) mismatch("round trip changed the message", in);

  // The same message over a stream: type and MID drop out, the rest must survive.
  auto tcp = decode_tcp(encode_tcp(m));
  if (!tcp) mismatch("TCP encoding does not decode", in);
  if (tcp->code != m.code || tcp->token != m.token || !(tcp->options == m.options) ||
      tcp->payload != m.payload) {
    mismatch("TCP round trip changed the message", in);
  }

  // Accessors must cope with whatever option values arrived.
  (void)m.summary();
  (void)m.path();
  (void)m.queries();
  (void)m.content_format();
  (void)m.accept();
  (void)m.observe();
  (void)get_block(m, option::kBlock1);
  (void)get_block(m, option::kBlock2, true);
  return 0;
}
