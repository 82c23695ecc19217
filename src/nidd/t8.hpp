#pragma once
// The T8 NIDD API (3GPP TS 29.122 5.6, `3gpp-nidd/v1`) as values and JSON: what an SCS/AS
// (our LwM2M server) and an SCEF say to each other about non-IP data (Transport TS
// Appendix D.3). The server side (transport/nidd) writes configurations and downlink
// deliveries and reads notifications; our SCEF simulator (nidd/scef) does the reverse.
//
//   POST {root}/3gpp-nidd/v1/{scsAsId}/configurations            a NiddConfiguration
//   POST .../configurations/{configurationId}/downlink-data-deliveries   MT data
//   callbacks to notificationDestination: NiddUplinkDataNotification (MO data),
//   NiddDownlinkDataDeliveryStatusNotification, NiddConfigurationStatusNotification.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace tether::nidd {

// A UE as T8 names it: an External Identifier ("local@domain") or an MSISDN.
struct UeId {
  std::string external_id;
  std::string msisdn;
  bool empty() const { return external_id.empty() && msisdn.empty(); }
  // "ext:device1@iot.example" or "msisdn:4915550001": one text for maps and logs.
  std::string key() const;
  friend bool operator==(const UeId&, const UeId&) = default;
};
// Parses key() back.
std::optional<UeId> ue_from_key(std::string_view key);
// A path segment T8 names things by (an SCS/AS id, a configuration id): 1-64 letters,
// digits, "-", "_", ".".
bool is_t8_id(std::string_view s);
// What an operator writes: key() or bare, "meter-1@iot.example" or "4915550001".
std::optional<UeId> parse_ue(std::string_view text);

struct Configuration {
  UeId ue;
  std::string notification_destination;              // our callback URL
  std::string self;                                  // the SCEF's URL of it (responses)
  std::string status;                                // ACTIVE, TERMINATED... (responses)
  std::optional<std::uint32_t> maximum_packet_size;  // octets (T8 says bits; we convert)
};

struct DownlinkTransfer {
  UeId ue;
  Bytes data;
  std::string self;             // responses: the delivery's URL
  std::string delivery_status;  // responses: SUCCESS..., BUFFERING..., FAILURE...
  std::optional<std::uint32_t> maximum_latency_s;
};

struct UplinkNotification {
  std::string configuration;  // its link
  UeId ue;
  Bytes data;
};
struct DeliveryStatusNotification {
  std::string transfer;  // the delivery's link
  std::string delivery_status;
};
struct ConfigurationStatusNotification {
  std::string configuration;
  UeId ue;
  std::string status;
};
using Notification =
    std::variant<UplinkNotification, DeliveryStatusNotification, ConfigurationStatusNotification>;

// The largest non-IP packet we take or make (TS 24.301 6.6.4.2: an MTU of 1358 octets).
inline constexpr std::size_t kMaxPacket = 1358;

std::string to_json(const Configuration& c);
Result<Configuration> parse_configuration(ByteView json);
std::string to_json(const DownlinkTransfer& t);
Result<DownlinkTransfer> parse_downlink_transfer(ByteView json);
std::string to_json(const Notification& n);
// Which of the three a callback is, by the fields it carries; anything else fails.
Result<Notification> parse_notification(ByteView json);

// Delivery statuses by outcome.
bool is_success(std::string_view status);    // SUCCESS*
bool is_buffering(std::string_view status);  // BUFFERING*, TRIGGERED, SENDING
bool is_failure(std::string_view status);    // FAILURE*

}  // namespace tether::nidd
