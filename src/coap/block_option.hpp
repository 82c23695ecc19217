#pragma once
// RFC 7959 2.2: Block1/Block2 values NUM (up to 20 bits), M and SZX.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "coap/message.hpp"

namespace tether::coap {

struct BlockOption {
  std::uint32_t num = 0;
  bool more = false;
  std::uint8_t szx = 6;  // 1024 bytes

  // SZX 7 is BERT over TCP (RFC 8323 6): 1024-byte units, several per message.
  std::size_t size() const { return std::size_t{1} << (std::min<std::uint8_t>(szx, 6) + 4); }
  bool is_bert() const { return szx == 7; }
  std::size_t offset() const { return static_cast<std::size_t>(num) * size(); }
  friend bool operator==(const BlockOption&, const BlockOption&) = default;
};

inline constexpr std::uint32_t kMaxBlockNum = (1u << 20) - 1;

Bytes encode_block(const BlockOption& b);
// nullopt for values over 3 bytes, or SZX 7 unless BERT is allowed (stream carriers).
std::optional<BlockOption> decode_block(ByteView value, bool allow_bert = false);
std::optional<BlockOption> get_block(const Message& m, std::uint16_t number,
                                     bool allow_bert = false);
void set_block(Message& m, std::uint16_t number, const BlockOption& b);
// The SZX for a block size in bytes (16..1024), or nullopt for other sizes.
std::optional<std::uint8_t> szx_for_size(std::size_t size);

}  // namespace tether::coap
