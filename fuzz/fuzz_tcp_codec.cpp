// TcpFrameDecoder on an arbitrary byte stream fed in input-chosen chunks. Every frame it
// yields must re-encode to exactly the bytes it was cut from, and the frames (and the
// point of failure, if any) must not depend on how the stream was split.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "coap/tcp_codec.hpp"

namespace {
using namespace tether;
using namespace tether::coap;

[[noreturn]] void mismatch(const char* what) {
  std::fprintf(stderr, "fuzz_tcp_codec: %s\n", what);
  std::abort();
}

struct Outcome {
  std::vector<Message> frames;
  bool failed = false;
};

// Takes frames until the decoder needs more bytes or fails; checks each against `stream`.
void drain(TcpFrameDecoder& d, ByteView stream, std::size_t& pos, Outcome& out) {
  while (!out.failed) {
    auto r = d.next();
    if (!r) {
      if (r.error().reason.empty()) mismatch("error without a reason");
      out.failed = true;
      return;
    }
    if (!r->has_value()) return;
    const Message& m = **r;
    const Bytes wire = encode_tcp(m);
    if (pos + wire.size() > stream.size() ||
        !std::equal(wire.begin(), wire.end(), stream.begin() + static_cast<std::ptrdiff_t>(pos))) {
      mismatch("re-encoded frame differs from the bytes it came from");
    }
    auto again = decode_tcp(wire);
    if (!again || !(*again == m)) mismatch("frame round trip changed the message");
    pos += wire.size();
    out.frames.push_back(m);
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  // Two bytes of limit, one byte seeding the chunk sizes, then the stream.
  const std::size_t max_size = 64 + (static_cast<std::size_t>(data[0]) << 8 | data[1]);
  std::uint32_t seed = data[2];
  const ByteView stream(data + 3, size - 3);

  Outcome whole;
  {
    TcpFrameDecoder d(max_size);
    d.feed(stream);
    std::size_t pos = 0;
    drain(d, stream, pos, whole);
    if (!whole.failed && d.buffered() != stream.size() - pos) mismatch("buffered() is off");
  }

  Outcome chunked;
  {
    TcpFrameDecoder d(max_size);
    std::size_t fed = 0;
    std::size_t pos = 0;
    while (fed < stream.size() && !chunked.failed) {
      seed = seed * 1103515245u + 12345u;
      const std::size_t n = std::min<std::size_t>(1 + (seed >> 16) % 17, stream.size() - fed);
      d.feed(stream.subspan(fed, n));
      fed += n;
      drain(d, stream, pos, chunked);
    }
  }

  // Splitting may only change *when* an oversize or bad header is noticed, never what the
  // complete frames before it were.
  if (whole.failed != chunked.failed) mismatch("failure depends on chunking");
  if (whole.frames != chunked.frames) mismatch("frames depend on chunking");
  return 0;
}
