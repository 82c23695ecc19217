#include "coap/tcp_codec.hpp"

#include <stdexcept>

#include "coap/udp_codec.hpp"

namespace tether::coap {

namespace {
// RFC 8323 3.2: Len 13/14/15 add 1/2/4 bytes holding length - 13/269/65805.
constexpr std::uint64_t kExt1 = 13;
constexpr std::uint64_t kExt2 = 269;
constexpr std::uint64_t kExt4 = 65805;

std::size_t extended_length_size(std::uint8_t nibble) {
  switch (nibble) {
    case 13:
      return 1;
    case 14:
      return 2;
    case 15:
      return 4;
    default:
      return 0;
  }
}
}  // namespace

void encode_tcp(const Message& m, Bytes& out) {
  if (m.token.size() > kMaxTokenLength) throw std::invalid_argument("token longer than 8 bytes");
  const std::uint64_t len = options_and_payload_size(m);
  const auto tkl = static_cast<std::uint8_t>(m.token.size());
  out.reserve(out.size() + 7 + m.token.size() + len);
  if (len < kExt1) {
    out.push_back(static_cast<std::uint8_t>(len << 4 | tkl));
  } else if (len < kExt2) {
    out.push_back(static_cast<std::uint8_t>(13 << 4 | tkl));
    out.push_back(static_cast<std::uint8_t>(len - kExt1));
  } else if (len < kExt4) {
    out.push_back(static_cast<std::uint8_t>(14 << 4 | tkl));
    const std::uint64_t x = len - kExt2;
    out.push_back(static_cast<std::uint8_t>(x >> 8));
    out.push_back(static_cast<std::uint8_t>(x));
  } else {
    out.push_back(static_cast<std::uint8_t>(15 << 4 | tkl));
    const std::uint64_t x = len - kExt4;
    for (int shift = 24; shift >= 0; shift -= 8)
      out.push_back(static_cast<std::uint8_t>(x >> shift));
  }
  out.push_back(m.code.value);
  out.insert(out.end(), m.token.begin(), m.token.end());
  encode_options_and_payload(m, out);
}

Bytes encode_tcp(const Message& m) {
  Bytes out;
  encode_tcp(m, out);
  return out;
}

Result<std::optional<std::size_t>> tcp_frame_length(ByteView in) {
  if (in.empty()) return std::optional<std::size_t>{};
  const std::uint8_t len_nibble = in[0] >> 4;
  const std::size_t tkl = in[0] & 0x0f;
  if (tkl > kMaxTokenLength) return fail("reserved token length " + std::to_string(tkl));
  const std::size_t ext = extended_length_size(len_nibble);
  if (in.size() < 1 + ext) return std::optional<std::size_t>{};
  std::uint64_t len = len_nibble;
  if (ext > 0) {
    std::uint64_t x = 0;
    for (std::size_t i = 0; i < ext; ++i) x = x << 8 | in[1 + i];
    len = x + (ext == 1 ? kExt1 : ext == 2 ? kExt2 : kExt4);
  }
  const std::uint64_t total = 1 + ext + 1 + tkl + len;
  if (total > SIZE_MAX / 2) return fail("frame length out of range");
  return std::optional<std::size_t>{static_cast<std::size_t>(total)};
}

Result<Message> decode_tcp(ByteView in) {
  auto len = tcp_frame_length(in);
  if (!len) return len.error();
  if (!*len) return fail("truncated frame header");
  if (**len != in.size()) {
    return fail(**len > in.size() ? "frame shorter than its length field"
                                  : "bytes after the end of the frame");
  }
  const std::size_t ext = extended_length_size(in[0] >> 4);
  const std::size_t tkl = in[0] & 0x0f;
  Message m;
  m.type = Type::kNonConfirmable;  // RFC 8323: no type; reliability comes from TCP
  m.code = Code(in[1 + ext]);
  const int cls = m.code.code_class();
  if (cls == 1 || cls == 6) return fail("reserved code class " + std::to_string(cls));
  const std::size_t token_at = 2 + ext;
  m.token.assign(in.begin() + static_cast<std::ptrdiff_t>(token_at),
                 in.begin() + static_cast<std::ptrdiff_t>(token_at + tkl));
  auto r = decode_options_and_payload(in.subspan(token_at + tkl), m);
  if (!r) return r.error();
  if (m.code.is_empty() && (!m.options.empty() || !m.payload.empty())) {
    return fail("empty message (0.00) with options or payload");
  }
  return m;
}

void TcpFrameDecoder::feed(ByteView bytes) {
  if (start_ > 0 && start_ >= buffer_.size() / 2) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(start_));
    start_ = 0;
  }
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
}

Result<std::optional<Message>> TcpFrameDecoder::next() {
  if (failed_) return fail("stream already failed");
  ByteView rest(buffer_.data() + start_, buffer_.size() - start_);
  auto len = tcp_frame_length(rest);
  if (!len) {
    failed_ = true;
    return len.error();
  }
  if (!*len) return std::optional<Message>{};
  if (**len > max_ + 8) {  // frame = header + token + body; the limit applies to the message
    failed_ = true;
    return fail("frame of " + std::to_string(**len) + " bytes exceeds Max-Message-Size " +
                std::to_string(max_));
  }
  if (rest.size() < **len) return std::optional<Message>{};
  auto m = decode_tcp(rest.first(**len));
  if (!m) {
    failed_ = true;
    return m.error();
  }
  start_ += **len;
  if (start_ == buffer_.size()) {
    buffer_.clear();
    start_ = 0;
  }
  return std::optional<Message>{std::move(*m)};
}

}  // namespace tether::coap
