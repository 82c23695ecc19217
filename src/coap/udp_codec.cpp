#include "coap/udp_codec.hpp"

#include <stdexcept>

namespace tether::coap {

namespace {
// RFC 7252 3.1: nibble 13 adds one byte (+13), 14 adds two bytes (+269), 15 is reserved.
std::uint8_t nibble_for(std::uint32_t v) {
  if (v < 13) return static_cast<std::uint8_t>(v);
  if (v < 269) return 13;
  return 14;
}

void put_extended(std::uint32_t v, Bytes& out) {
  if (v >= 269) {
    std::uint32_t x = v - 269;
    out.push_back(static_cast<std::uint8_t>(x >> 8));
    out.push_back(static_cast<std::uint8_t>(x & 0xff));
  } else if (v >= 13) {
    out.push_back(static_cast<std::uint8_t>(v - 13));
  }
}

std::size_t extended_size(std::uint32_t v) {
  return v >= 269 ? 2 : v >= 13 ? 1 : 0;
}

// Reads the extended part of a delta or length nibble; false on a truncated or reserved field.
bool read_extended(std::uint8_t nibble, ByteView in, std::size_t& pos, std::uint32_t& out,
                   std::string& why, const char* what) {
  if (nibble < 13) {
    out = nibble;
    return true;
  }
  if (nibble == 13) {
    if (pos + 1 > in.size()) {
      why = std::string("truncated extended option ") + what;
      return false;
    }
    out = 13u + in[pos];
    pos += 1;
    return true;
  }
  if (nibble == 14) {
    if (pos + 2 > in.size()) {
      why = std::string("truncated extended option ") + what;
      return false;
    }
    out = 269u + (static_cast<std::uint32_t>(in[pos]) << 8 | in[pos + 1]);
    pos += 2;
    return true;
  }
  why = std::string("reserved option ") + what + " nibble 15";
  return false;
}
}  // namespace

std::size_t options_and_payload_size(const Message& m) {
  std::size_t n = 0;
  std::uint32_t last = 0;
  for (const auto& o : m.options.list()) {
    std::uint32_t delta = o.number - last;
    auto len = static_cast<std::uint32_t>(o.value.size());
    n += 1 + extended_size(delta) + extended_size(len) + len;
    last = o.number;
  }
  if (!m.payload.empty()) n += 1 + m.payload.size();
  return n;
}

void encode_options_and_payload(const Message& m, Bytes& out) {
  encode_options_and_payload(m, out, nullptr);
}

void encode_options_and_payload(const Message& m, Bytes& out, bool (*keep)(std::uint16_t)) {
  std::uint32_t last = 0;
  for (const auto& o : m.options.list()) {
    if (keep != nullptr && !keep(o.number)) continue;
    if (o.number < last) throw std::invalid_argument("options out of order");
    if (o.value.size() > 65535 + 269) throw std::invalid_argument("option value too long");
    std::uint32_t delta = o.number - last;
    auto len = static_cast<std::uint32_t>(o.value.size());
    out.push_back(static_cast<std::uint8_t>(nibble_for(delta) << 4 | nibble_for(len)));
    put_extended(delta, out);
    put_extended(len, out);
    out.insert(out.end(), o.value.begin(), o.value.end());
    last = o.number;
  }
  if (!m.payload.empty()) {
    out.push_back(0xff);
    out.insert(out.end(), m.payload.begin(), m.payload.end());
  }
}

Result<std::size_t> decode_options(ByteView in, Options& options) {
  std::size_t pos = 0;
  std::uint32_t number = 0;
  auto& list = options.mutable_list();
  // Most messages carry a handful of options: one allocation instead of a growing vector.
  if (list.capacity() < 8 && !in.empty() && in[0] != 0xff) list.reserve(8);
  std::string why;
  while (pos < in.size()) {
    std::uint8_t first = in[pos++];
    if (first == 0xff) {
      if (pos == in.size()) return fail("payload marker followed by an empty payload");
      return pos;
    }
    std::uint32_t delta = 0;
    std::uint32_t len = 0;
    if (!read_extended(first >> 4, in, pos, delta, why, "delta")) return fail(why);
    if (!read_extended(first & 0x0f, in, pos, len, why, "length")) return fail(why);
    number += delta;
    if (number > 0xffff) return fail("option number exceeds 65535");
    if (len > in.size() - pos) return fail("option value runs past the end of the message");
    list.push_back(Option{static_cast<std::uint16_t>(number), OptionBytes(in.subspan(pos, len))});
    pos += len;
  }
  return pos;
}

Result<Ok> decode_options_and_payload(ByteView in, Message& m) {
  auto payload_at = decode_options(in, m.options);
  if (!payload_at) return payload_at.error();
  m.payload.assign(in.begin() + static_cast<std::ptrdiff_t>(*payload_at), in.end());
  return Ok{};
}

void encode_udp(const Message& m, Bytes& out) {
  if (m.token.size() > kMaxTokenLength) throw std::invalid_argument("token longer than 8 bytes");
  out.reserve(out.size() + 4 + m.token.size() + options_and_payload_size(m));
  out.push_back(
      static_cast<std::uint8_t>(0x40u | static_cast<unsigned>(m.type) << 4 | m.token.size()));
  out.push_back(m.code.value);
  out.push_back(static_cast<std::uint8_t>(m.message_id >> 8));
  out.push_back(static_cast<std::uint8_t>(m.message_id & 0xff));
  out.insert(out.end(), m.token.begin(), m.token.end());
  encode_options_and_payload(m, out);
}

Bytes encode_udp(const Message& m) {
  Bytes out;
  encode_udp(m, out);
  return out;
}

std::optional<DatagramHeader> peek_udp_header(ByteView in) {
  if (in.size() < 4 || (in[0] >> 6) != 1) return std::nullopt;
  return DatagramHeader{static_cast<Type>((in[0] >> 4) & 3),
                        static_cast<std::uint16_t>(in[2] << 8 | in[3])};
}

Result<Message> decode_udp(ByteView in) {
  if (in.size() < 4) return fail("datagram shorter than the 4-byte CoAP header");
  if ((in[0] >> 6) != 1) return fail("unknown CoAP version " + std::to_string(in[0] >> 6));
  std::size_t tkl = in[0] & 0x0f;
  if (tkl > kMaxTokenLength) return fail("reserved token length " + std::to_string(tkl));
  Message m;
  m.type = static_cast<Type>((in[0] >> 4) & 3);
  m.code = Code(in[1]);
  m.message_id = static_cast<std::uint16_t>(in[2] << 8 | in[3]);
  const int cls = m.code.code_class();
  if (cls == 1 || cls == 6 || cls == 7) {
    return fail("reserved code class " + std::to_string(cls) + " over UDP");
  }
  if (m.type == Type::kReset && !m.code.is_empty()) return fail("reset message that is not empty");
  if (m.type == Type::kAcknowledgement && m.code.is_request()) {
    return fail("acknowledgement carrying a request code");
  }
  if (m.code.is_empty() && in.size() != 4) {
    return fail("empty message (0.00) with a token, options or payload");
  }
  if (in.size() < 4 + tkl) return fail("datagram shorter than its token length");
  m.token.assign(in.begin() + 4, in.begin() + static_cast<std::ptrdiff_t>(4 + tkl));
  auto r = decode_options_and_payload(in.subspan(4 + tkl), m);
  if (!r) return r.error();
  return m;
}

}  // namespace tether::coap
