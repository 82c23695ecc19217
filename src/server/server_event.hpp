#pragma once
// What the server tells its observers (the REST API's event stream, logs, metrics).
#include <cstdint>
#include <optional>
#include <string>

#include "lwm2m/operation/downlink_request.hpp"
#include "server/registration.hpp"

namespace tether::server {

struct ServerEvent {
  enum class Kind : std::uint8_t {
    kRegistered,
    kUpdated,
    kDeregistered,
    kExpired,
    kAwake,
    kSleeping,
    kNotification,
    kObservationEnded,
    kSend,
    kResponse,   // the answer to a request the API left queued
    kBootstrap,  // bootstrap progress (the bootstrap server)
    kRefused,    // an uplink refused with an error code: `detail` says why, `address` who
    // Keep kRefused last: the API walks the kinds up to it to check ?events= names.
  };
  Kind kind = Kind::kRegistered;
  std::string endpoint;
  std::optional<Registration> registration;
  std::string observation_id;
  std::uint64_t ticket = 0;                        // kResponse
  std::optional<lwm2m::DownlinkResponse> content;  // notification, send, response
  std::string detail;                              // a reason or a step, for people
  std::string address;                             // kRefused: the sender
  UnixMillis at = 0;                               // when it happened (set by the engine)
};

const char* event_kind_name(ServerEvent::Kind kind);

}  // namespace tether::server
