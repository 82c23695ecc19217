#pragma once
// CoAP codes (RFC 7252 12.1, RFC 8323 11.1): class.detail packed in one byte.
#include <cstdint>
#include <string>

namespace tether::coap {

struct Code {
  std::uint8_t value = 0;

  constexpr Code() = default;
  constexpr explicit Code(std::uint8_t raw) : value(raw) {}
  constexpr Code(int cls, int detail)
      : value(static_cast<std::uint8_t>(((cls & 0x7) << 5) | (detail & 0x1f))) {}

  constexpr int code_class() const { return value >> 5; }
  constexpr int detail() const { return value & 0x1f; }
  constexpr bool is_empty() const { return value == 0; }
  constexpr bool is_request() const { return code_class() == 0 && value != 0; }
  constexpr bool is_response() const { return code_class() >= 2 && code_class() <= 5; }
  constexpr bool is_success() const { return code_class() == 2; }
  constexpr bool is_signaling() const { return code_class() == 7; }
  friend constexpr bool operator==(Code a, Code b) = default;

  // "2.05", "0.01"
  std::string to_string() const;
  // "GET", "2.05 Content"
  std::string describe() const;
};

namespace codes {
inline constexpr Code kEmpty{0, 0};
inline constexpr Code kGet{0, 1};
inline constexpr Code kPost{0, 2};
inline constexpr Code kPut{0, 3};
inline constexpr Code kDelete{0, 4};
inline constexpr Code kFetch{0, 5};
inline constexpr Code kPatch{0, 6};
inline constexpr Code kIPatch{0, 7};

inline constexpr Code kCreated{2, 1};
inline constexpr Code kDeleted{2, 2};
inline constexpr Code kValid{2, 3};
inline constexpr Code kChanged{2, 4};
inline constexpr Code kContent{2, 5};
inline constexpr Code kContinue{2, 31};

inline constexpr Code kBadRequest{4, 0};
inline constexpr Code kUnauthorized{4, 1};
inline constexpr Code kBadOption{4, 2};
inline constexpr Code kForbidden{4, 3};
inline constexpr Code kNotFound{4, 4};
inline constexpr Code kMethodNotAllowed{4, 5};
inline constexpr Code kNotAcceptable{4, 6};
inline constexpr Code kRequestEntityIncomplete{4, 8};
inline constexpr Code kConflict{4, 9};
inline constexpr Code kPreconditionFailed{4, 12};
inline constexpr Code kRequestEntityTooLarge{4, 13};
inline constexpr Code kUnsupportedContentFormat{4, 15};

inline constexpr Code kInternalServerError{5, 0};
inline constexpr Code kNotImplemented{5, 1};
inline constexpr Code kServiceUnavailable{5, 3};
inline constexpr Code kGatewayTimeout{5, 4};
inline constexpr Code kProxyingNotSupported{5, 5};

// RFC 8323 signaling codes.
inline constexpr Code kCsm{7, 1};
inline constexpr Code kPing{7, 2};
inline constexpr Code kPong{7, 3};
inline constexpr Code kRelease{7, 4};
inline constexpr Code kAbort{7, 5};
}  // namespace codes

std::string method_name(Code code);

}  // namespace tether::coap
