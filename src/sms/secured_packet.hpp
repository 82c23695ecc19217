#pragma once
// Transport TS 5.4.2.1.3: in SMS Secured Packet Structure mode a CoAP message rides in the
// Command Packet of 3GPP TS 31.115 / ETSI TS 102 225, with AES in CBC mode for ciphering,
// AES-CMAC for the cryptographic checksum and a counter that must grow. Pure functions over
// bytes; the keys come from the Security object (Core TS E.1, /0/x/7 and /0/x/8).
//
// The command packet, as it follows the user data header of its SMS:
//   CPL(2) CHL(1) SPI(2) KIc(1) KID(1) TAR(3) | CNTR(5) PCNTR(1) CC(8) secured data, padding
// Everything from CNTR on is ciphered; the checksum covers the header element that marks a
// command packet (UDHL 02, IEI 70, length 00), CPL to PCNTR and the padded secured data.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "common/bytes.hpp"

namespace tether::sms {

// 31.115: the (empty) user data header element that says "command packet".
inline constexpr std::uint8_t kCommandPacketIei = 0x70;
// Transport TS 5.4.2.1.3: the TAR of the LwM2M UICC application (ETSI TS 101 220).
inline constexpr std::array<std::uint8_t, 3> kLwm2mTar{0xB2, 0x02, 0x03};
// Transport TS 5.4.2.1.2: USIM data download, class 2 (for the (U)SIM), 8-bit data.
inline constexpr std::uint8_t kUsimDataDownloadPid = 0x7F;
inline constexpr std::uint8_t kClass2Data = 0xF6;

struct SecuredPacketKeys {
  std::uint8_t kic = 0x12;                      // AES, CBC, key version 1 (102 225 5.2.2)
  std::uint8_t kid = 0x1A;                      // AES, CMAC, key version 1 (102 225 5.2.3)
  std::array<std::uint8_t, 2> spi{0x16, 0x00};  // CC, ciphering, counter must grow; no PoR
  std::array<std::uint8_t, 3> tar = kLwm2mTar;
  Bytes cipher_key;    // KIc's: 16 or 32 octets (AES-128, AES-256)
  Bytes checksum_key;  // KID's: as long as the cipher key
};

// Core TS E.1: /0/x/7 holds KIc, KID, SPI, TAR in that order (7 octets); /0/x/8 the
// ciphering key then the checksum key. Fails for anything but AES-CBC with AES-CMAC, a
// checksum and ciphering both on, and a counter that must grow (SPI 16 00; Transport TS
// 5.4.2.1.3).
Result<SecuredPacketKeys> parse_sms_binding_keys(ByteView parameters, ByteView secret);

// The 5-octet counter (CNTR) as a number.
inline constexpr std::uint64_t kMaxCounter = (std::uint64_t{1} << 40) - 1;

// The command packet carrying `coap` (CPL onwards), counter `counter`.
Result<Bytes> seal_command_packet(const SecuredPacketKeys& keys, std::uint64_t counter,
                                  ByteView coap);

enum class PacketFault {
  kNoKeys,           // no keys for the sender's number
  kMalformed,        // not a command packet, or lengths that do not add up
  kWrongParameters,  // SPI, KIc, KID or TAR other than configured
  kChecksum,         // the cryptographic checksum does not match: wrong key or tampered
  kReplay,           // a counter not above the last one accepted
};
inline constexpr std::size_t kPacketFaults = 5;
// "no_keys", "bad_checksum", ...: the fault's name in /metrics (sms_packet_<name>).
const char* fault_name(PacketFault f);

struct OpenedPacket {
  Bytes coap;
  std::uint64_t counter = 0;
};

// Opens a command packet (what follows the user data header). `last_counter`: the highest
// counter accepted from this peer so far, if any.
std::variant<OpenedPacket, PacketFault> open_command_packet(
    const SecuredPacketKeys& keys, ByteView packet, std::optional<std::uint64_t> last_counter);

// A counter above `last` that also survives a restart that forgot `last`: the wall clock in
// hundredths of a second (2^40 of them last 348 years), or last + 1 when that is higher.
std::uint64_t next_counter(std::optional<std::uint64_t> last, std::uint64_t unix_ms);

// What protects CoAP over SMS per peer number. The server keeps keys and counters per
// device (SecuredPacketPeers); a device goes through its (U)SIM (SoftwareUicc).
class PacketProtection {
 public:
  virtual ~PacketProtection() = default;
  // Whether SMS with `number` go in command packets at all; others go in the clear (a
  // client's NoSec accounts next to its Secured Packet ones).
  virtual bool applies_to(const std::string& /*number*/) const { return true; }
  // The command packet for `to`; nothing when there are no keys for that number.
  virtual std::optional<Bytes> protect(const std::string& to, ByteView coap) = 0;
  virtual std::variant<Bytes, PacketFault> unprotect(const std::string& from, ByteView packet) = 0;
};

}  // namespace tether::sms
