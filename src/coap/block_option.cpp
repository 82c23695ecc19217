#include "coap/block_option.hpp"

namespace tether::coap {

Bytes encode_block(const BlockOption& b) {
  const std::uint32_t v = b.num << 4 | (b.more ? 8u : 0u) | (b.szx & 7u);
  return encode_uint(v);
}

std::optional<BlockOption> decode_block(ByteView value, bool allow_bert) {
  auto v = decode_uint(value, 3);
  if (!v) return std::nullopt;
  BlockOption b;
  b.szx = static_cast<std::uint8_t>(*v & 7);
  if (b.szx == 7 && !allow_bert) return std::nullopt;
  b.more = (*v & 8) != 0;
  b.num = static_cast<std::uint32_t>(*v >> 4);
  return b;
}

std::optional<BlockOption> get_block(const Message& m, std::uint16_t number, bool allow_bert) {
  const Option* o = m.options.find(number);
  if (o == nullptr) return std::nullopt;
  return decode_block(o->value, allow_bert);
}

void set_block(Message& m, std::uint16_t number, const BlockOption& b) {
  m.options.set(number, encode_block(b));
}

std::optional<std::uint8_t> szx_for_size(std::size_t size) {
  for (std::uint8_t szx = 0; szx <= 6; ++szx) {
    if ((std::size_t{1} << (szx + 4)) == size) return szx;
  }
  return std::nullopt;
}

}  // namespace tether::coap
