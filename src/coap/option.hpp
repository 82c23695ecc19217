#pragma once
// CoAP options (RFC 7252 5.4, 12.2) kept sorted by number, as they go on the wire.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "coap/option_bytes.hpp"
#include "common/bytes.hpp"

namespace tether::coap {

namespace option {
inline constexpr std::uint16_t kIfMatch = 1;
inline constexpr std::uint16_t kUriHost = 3;
inline constexpr std::uint16_t kETag = 4;
inline constexpr std::uint16_t kIfNoneMatch = 5;
inline constexpr std::uint16_t kObserve = 6;
inline constexpr std::uint16_t kUriPort = 7;
inline constexpr std::uint16_t kLocationPath = 8;
inline constexpr std::uint16_t kOscore = 9;
inline constexpr std::uint16_t kUriPath = 11;
inline constexpr std::uint16_t kContentFormat = 12;
inline constexpr std::uint16_t kMaxAge = 14;
inline constexpr std::uint16_t kUriQuery = 15;
inline constexpr std::uint16_t kHopLimit = 16;
inline constexpr std::uint16_t kAccept = 17;
inline constexpr std::uint16_t kLocationQuery = 20;
inline constexpr std::uint16_t kBlock2 = 23;
inline constexpr std::uint16_t kBlock1 = 27;
inline constexpr std::uint16_t kSize2 = 28;
inline constexpr std::uint16_t kProxyUri = 35;
inline constexpr std::uint16_t kProxyScheme = 39;
inline constexpr std::uint16_t kSize1 = 60;
inline constexpr std::uint16_t kEcho = 252;
inline constexpr std::uint16_t kNoResponse = 258;
inline constexpr std::uint16_t kRequestTag = 292;

// RFC 8323 5.3-5.6: signaling options, numbered per signaling code.
inline constexpr std::uint16_t kCsmMaxMessageSize = 2;
inline constexpr std::uint16_t kCsmBlockWiseTransfer = 4;
inline constexpr std::uint16_t kPingCustody = 2;
inline constexpr std::uint16_t kReleaseAlternativeAddress = 2;
inline constexpr std::uint16_t kReleaseHoldOff = 4;
inline constexpr std::uint16_t kAbortBadCsmOption = 2;

// RFC 7252 5.4.6: odd numbers are critical.
constexpr bool is_critical(std::uint16_t number) {
  return (number & 1) != 0;
}
// Whether this implementation understands the option in a request or response.
bool is_known(std::uint16_t number);
// RFC 7252 5.4.1/5.4.3: a known option with a length outside its range counts as unrecognized.
bool has_valid_length(std::uint16_t number, std::size_t length);
const char* name(std::uint16_t number);
}  // namespace option

struct Option {
  std::uint16_t number = 0;
  OptionBytes value;
  friend bool operator==(const Option&, const Option&) = default;
};

// Minimal big-endian encoding of an unsigned option value (RFC 7252 3.2).
Bytes encode_uint(std::uint64_t v);
OptionBytes uint_option(std::uint64_t v);
std::optional<std::uint64_t> decode_uint(ByteView v, std::size_t max_len = 4);

class Options {
 public:
  // Inserts after any options of the same number, keeping wire order.
  void add(std::uint16_t number, OptionBytes value);
  void add(std::uint16_t number, const Bytes& value) { add(number, OptionBytes(value)); }
  void add(std::uint16_t number, std::string_view value) {
    add(number,
        OptionBytes(ByteView(reinterpret_cast<const std::uint8_t*>(value.data()), value.size())));
  }
  void add_uint(std::uint16_t number, std::uint64_t v) { add(number, uint_option(v)); }
  void set(std::uint16_t number, OptionBytes value);
  void set_uint(std::uint16_t number, std::uint64_t v) { set(number, uint_option(v)); }
  void remove(std::uint16_t number);

  bool has(std::uint16_t number) const { return find(number) != nullptr; }
  const Option* find(std::uint16_t number) const;
  std::vector<const Option*> all(std::uint16_t number) const;
  std::optional<std::uint64_t> get_uint(std::uint16_t number) const;
  std::vector<std::string> strings(std::uint16_t number) const;

  const std::vector<Option>& list() const { return list_; }
  std::vector<Option>& mutable_list() { return list_; }
  bool empty() const { return list_.empty(); }
  std::size_t size() const { return list_.size(); }
  friend bool operator==(const Options&, const Options&) = default;

 private:
  std::vector<Option> list_;
};

}  // namespace tether::coap
