#pragma once
// The transfer-layer PDUs of 3GPP TS 23.040 9.2.2 that a modem speaks in PDU mode (3GPP TS
// 27.005): SMS-SUBMIT (what we hand the modem to send) and SMS-DELIVER (what it hands us),
// with 8-bit user data only (Transport TS 6.8.3). Pure functions; every length is checked.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/bytes.hpp"
#include "sms/short_message.hpp"

namespace tether::sms {

struct Submit {
  std::uint8_t reference = 0;  // TP-MR
  std::string destination;     // TP-DA: "+" and digits (international) or digits
  std::uint8_t pid = 0x00;
  std::uint8_t dcs = 0x04;
  Bytes udh;  // with UDHL first; sets TP-UDHI
  Bytes data;
};

struct Deliver {
  std::string originator;  // TP-OA
  std::uint8_t pid = 0x00;
  std::uint8_t dcs = 0x04;
  Bytes timestamp;  // TP-SCTS, 7 octets as received
  Bytes udh;
  Bytes data;
};

// The TPDU alone (no SMSC address in front); the AT+CMGS length is its size.
Result<Bytes> encode_submit(const Submit& s);
Result<Submit> decode_submit(ByteView tpdu);
Result<Bytes> encode_deliver(const Deliver& d);
Result<Deliver> decode_deliver(ByteView tpdu);

// The address field of 23.040 9.1.2.5 (TP-OA, TP-DA) alone: the data a (U)SIM hands the
// LwM2M client starts with one (Transport TS 5.4.2.1.2).
Result<Bytes> encode_address(std::string_view number);
struct DecodedAddress {
  std::string number;
  std::size_t size = 0;  // octets the field took
};
Result<DecodedAddress> decode_address(ByteView bytes);

// A PDU as a modem shows it starts with the SMSC address (a length octet, then that many
// octets; 00: the default SMSC). Returns the TPDU after it.
Result<ByteView> skip_smsc_address(ByteView pdu);

// TP-DCS (3GPP TS 23.038 4): true when the user data is 8-bit and uncompressed.
bool is_8bit_data(std::uint8_t dcs);
// The message class of TP-DCS (0..3), if it names one. Class 2 is for the (U)SIM.
std::optional<int> message_class(std::uint8_t dcs);

}  // namespace tether::sms
