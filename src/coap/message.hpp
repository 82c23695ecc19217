#pragma once
// One CoAP message, independent of the carrier. Type and message ID only matter over
// datagram carriers (UDP, DTLS, SMS, LoRaWAN); over TCP/TLS they are ignored.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "coap/code.hpp"
#include "coap/option.hpp"
#include "common/bytes.hpp"

namespace tether::coap {

enum class Type : std::uint8_t {
  kConfirmable = 0,
  kNonConfirmable = 1,
  kAcknowledgement = 2,
  kReset = 3
};
const char* type_name(Type t);

inline constexpr std::size_t kMaxTokenLength = 8;

// RFC 7252 12.3 and the LwM2M formats.
namespace content_format {
inline constexpr std::uint16_t kTextPlain = 0;
inline constexpr std::uint16_t kLinkFormat = 40;
inline constexpr std::uint16_t kOctetStream = 42;
inline constexpr std::uint16_t kJson = 50;
inline constexpr std::uint16_t kCbor = 60;
inline constexpr std::uint16_t kSenmlJson = 110;
inline constexpr std::uint16_t kSenmlCbor = 112;
inline constexpr std::uint16_t kSenmlEtchJson = 320;
inline constexpr std::uint16_t kSenmlEtchCbor = 322;
inline constexpr std::uint16_t kLwm2mTlv = 11542;
inline constexpr std::uint16_t kLwm2mJson = 11543;
inline constexpr std::uint16_t kLwm2mCbor = 11544;
}  // namespace content_format

struct Message {
  Type type = Type::kConfirmable;
  Code code;
  std::uint16_t message_id = 0;
  Bytes token;
  Options options;
  Bytes payload;

  friend bool operator==(const Message&, const Message&) = default;

  // Uri-Path segments joined with '/', with a leading '/'.
  std::string path() const;
  void set_path(std::string_view path);
  std::vector<std::string> queries() const { return options.strings(option::kUriQuery); }
  void add_query(std::string_view q) { options.add(option::kUriQuery, q); }
  std::string location_path() const;

  std::optional<std::uint16_t> content_format() const;
  void set_content_format(std::uint16_t cf) { options.set_uint(option::kContentFormat, cf); }
  std::optional<std::uint16_t> accept() const;
  std::optional<std::uint32_t> observe() const;
  void set_observe(std::uint32_t v) { options.set_uint(option::kObserve, v & 0xffffff); }

  // One line for logs: "CON GET mid=12 token=ab /path (3 bytes)".
  std::string summary() const;
};

Message make_request(Code method, std::string_view path);
// A response to `request`, carrying its token; type and MID are the message layer's business.
Message make_response(const Message& request, Code code);

}  // namespace tether::coap
