#pragma once
// One short message as a gateway or a modem carries it (3GPP TS 23.040): the numbers at
// either end, the user data header and the 8-bit user data. Transport TS 6.8.3 puts one
// CoAP message (or a part of one) in the user data.
#include <cstdint>
#include <optional>
#include <string>

#include "common/bytes.hpp"

namespace tether::sms {

// TP-UD holds at most 140 octets, the user data header (with its length octet) included.
inline constexpr std::size_t kMaxUserData = 140;

struct ShortMessage {
  std::string from;  // MSISDN, "+" and digits when international
  std::string to;
  Bytes udh;                // the user data header with its length octet (UDHL) first; empty: none
  Bytes data;               // 8-bit user data after the header
  std::uint8_t pid = 0x00;  // TP-PID
  std::uint8_t dcs = 0x04;  // TP-DCS: 8-bit data, no message class
};

// An MSISDN we accept from configuration, a registration or a peer: an optional "+" and
// 1 to 20 digits (E.164 allows 15; national plans add prefixes).
bool is_msisdn(std::string_view number);

// Whether two numbers name the same phone: "+4915550000", "004915550000" and "4915550000"
// do (gateways and networks write the international prefix either way, or leave it out).
// National forms ("0155...") are left as they are: no country is assumed.
bool same_msisdn(std::string_view a, std::string_view b);
// The digits that same_msisdn compares: the number without "+" or "00" in front.
std::string_view msisdn_digits(std::string_view number);

// The MSISDN of a server URI for the SMS binding, "sms://+4915550000" (a trailing "/" is
// allowed); nothing for any other URI.
std::optional<std::string> msisdn_of_uri(std::string_view uri);

}  // namespace tether::sms
