#pragma once
// LoRaWAN data frames as the application side sees them (LoRaWAN 1.0.4 4.3: FCnt, FPort,
// the ACK and FPending bits, confirmed or not), and the simulator's radio datagram that
// carries one between a device and `tether lorawan-ns` (docs/lorawan.md). Encryption and
// MIC are the network's (Transport TS 6.8.4: security comes from LoRaWAN) and are not
// simulated.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace tether::lorawan {

// EUI-64, written as 16 hex digits (ChirpStack writes them lower case).
using DevEui = std::uint64_t;
std::optional<DevEui> parse_dev_eui(std::string_view hex);
std::string dev_eui_text(DevEui eui);

enum class DeviceClass : std::uint8_t { kA, kC };

// FPort 0 carries MAC commands only; 1-223 are the application's (LoRaWAN 1.0.4 4.3.2).
inline bool is_application_port(std::uint32_t port) {
  return port >= 1 && port <= 223;
}

struct Uplink {
  DevEui dev_eui = 0;
  std::uint32_t f_cnt = 0;
  std::optional<std::uint8_t> f_port;  // none: an empty frame (opens receive windows only)
  bool confirmed = false;
  bool ack = false;  // acknowledges the last confirmed downlink
  std::uint8_t dr = 0;
  Bytes payload;
};

struct Downlink {
  DevEui dev_eui = 0;
  std::uint32_t f_cnt = 0;
  std::optional<std::uint8_t> f_port;  // none: an ACK alone
  bool confirmed = false;
  bool ack = false;      // acknowledges the confirmed uplink the window follows
  bool pending = false;  // FPending: more is queued, send again soon
  Bytes payload;
};

// Hex as LoRaWAN modems write it (upper case).
std::string upper_hex(ByteView b);

// Transport TS 6.8.4: a server over LoRaWAN is "lorawan://{port}", its FPort (1-223 here:
// 224-255 are reserved by LoRaWAN).
std::optional<std::uint8_t> port_of_uri(std::string_view uri);

// The simulator's radio datagram: "LW", version 1, kind (0 up, 1 down), DevEUI (8, big
// endian), FCnt (4), flags (1: confirmed, 2: ack, 4: pending, 8: has FPort), FPort, DR,
// then the payload. At most kMaxAirDatagram octets.
inline constexpr std::size_t kMaxAirDatagram = 19 + 255;
Bytes encode_air(const Uplink& u);
Bytes encode_air(const Downlink& d);
// Fails on a short, long or foreign datagram, and on FPort 0 or above 223 with a payload.
Result<Uplink> decode_air_uplink(ByteView datagram);
Result<Downlink> decode_air_downlink(ByteView datagram);

}  // namespace tether::lorawan
