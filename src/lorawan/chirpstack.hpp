#pragma once
// ChirpStack v4's MQTT integration, the JSON marshaler (chirpstack/api integration.proto in
// its JSON mapping): what a network server publishes about a device (uplinks, transmission
// and acknowledgement reports, logs) and the command that queues a downlink. The server
// side (transport/lorawan/chirpstack_integration) reads events and writes commands; our
// simulator (lorawan/network_server, `tether lorawan-ns`) does the reverse.
//
// Topics: application/{application id}/device/{DevEUI}/event/{up|txack|ack|log|...} and
// application/{application id}/device/{DevEUI}/command/down.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/bytes.hpp"
#include "common/random.hpp"
#include "common/result.hpp"
#include "lorawan/frame.hpp"

namespace tether::lorawan::chirpstack {

struct Topic {
  std::string application;
  DevEui dev_eui = 0;
  bool command = false;  // .../command/down; else .../event/{kind}
  std::string kind;      // the event kind, or "down"
};
// "+" for `application` subscribes to every application.
std::string event_filter(const std::string& application);
std::string command_filter(const std::string& application);
std::string event_topic(const std::string& application, DevEui dev, std::string_view kind);
std::string command_topic(const std::string& application, DevEui dev);
// Fails on anything but the two shapes above, with an application id (is_application_id)
// and a DevEUI of 16 hex digits.
Result<Topic> parse_topic(std::string_view topic);
// 1-64 printable ASCII characters, none of "/", "+", "#" (they would split or widen topics).
bool is_application_id(std::string_view id);

struct UplinkEvent {
  DevEui dev_eui = 0;
  std::uint32_t f_cnt = 0;
  std::uint8_t f_port = 0;
  bool confirmed = false;
  std::uint8_t dr = 0;
  Bytes data;
  std::string deduplication_id;
};
// The gateway took a queued downlink for transmission.
struct TxAckEvent {
  DevEui dev_eui = 0;
  std::string queue_item_id;
  std::uint32_t f_cnt_down = 0;
};
// A confirmed downlink was acknowledged by the device, or was not in time.
struct AckEvent {
  DevEui dev_eui = 0;
  std::string queue_item_id;
  bool acknowledged = false;
  std::uint32_t f_cnt_down = 0;
};
// Something went wrong with the device's traffic: codes DOWNLINK_PAYLOAD_SIZE, EXPIRED,
// UPLINK_F_CNT_RETRANSMISSION, ... (the context may name the queue item).
struct LogEvent {
  DevEui dev_eui = 0;
  std::string level;  // INFO, WARNING, ERROR
  std::string code;
  std::string description;
  std::string queue_item_id;  // context "queue_item_id", when given
};
using Event = std::variant<UplinkEvent, TxAckEvent, AckEvent, LogEvent>;

struct DownlinkCommand {
  std::string id;  // the queue item id (UUID); events about it carry it back
  DevEui dev_eui = 0;
  bool confirmed = false;
  std::uint8_t f_port = 1;
  Bytes data;
};

// The largest FRMPayload any region carries: longer data is refused on both sides.
inline constexpr std::size_t kMaxData = 242;

// Reads an event published on `topic`. Kinds we have no use for (join, status, location,
// integration) give nullopt; malformed JSON, a DevEUI that disagrees with the topic, bad
// base64, an FPort outside 1-223 or data over kMaxData fail.
Result<std::optional<Event>> parse_event(const Topic& topic, ByteView json);
std::string to_json(const UplinkEvent& e, const std::string& application);
std::string to_json(const TxAckEvent& e, const std::string& application);
std::string to_json(const AckEvent& e, const std::string& application);
std::string to_json(const LogEvent& e, const std::string& application);
std::string event_kind(const Event& e);

std::string to_json(const DownlinkCommand& c);
Result<DownlinkCommand> parse_command(const Topic& topic, ByteView json);

// A random (version 4) UUID, the form ChirpStack wants for ids.
std::string make_uuid(Random& random);

}  // namespace tether::lorawan::chirpstack
