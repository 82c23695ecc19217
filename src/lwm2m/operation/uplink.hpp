#pragma once
// What a client asks of a server or bootstrap server (Core TS 6.1-6.2, 6.4.6 Send), and the
// answer, as values every binding maps to its wire: CoAP (binding/coap/uplink_mapping), MQTT
// (binding/mqtt/uplink_mapping), later HTTP. The engines see only these.
#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "lwm2m/operation/bootstrap_request.hpp"
#include "lwm2m/operation/registration_request.hpp"
#include "lwm2m/operation/status.hpp"

namespace tether::lwm2m {

// Send (Core TS 6.4.6): the records, still encoded; the server decodes them with its model.
struct SendRequest {
  std::uint16_t content_format = 0;
  Bytes payload;
};

using Uplink = std::variant<RegisterRequest, UpdateRequest, DeregisterRequest, SendRequest,
                            BootstrapRequest, BootstrapPackRequest>;

// The answer to any of them.
struct UplinkAnswer {
  Status code = status::kChanged;
  std::string location;  // Register's 2.01: the registration ID (CoAP puts it under /rd)
  std::optional<std::uint16_t> content_format;  // a body's format (the Bootstrap-Pack)
  Bytes body;  // the pack; for a refusal, its reason for people reading traces
  // 5.03 from a full server: seconds before trying again (CoAP Max-Age, RFC 7252 5.9.3.4;
  // HTTP Retry-After).
  std::optional<std::uint32_t> retry_after;

  // A refusal carries the code at the head of the error's reason ("4.04 ...") and the reason.
  static UplinkAnswer refusal(const Error& error) {
    UplinkAnswer a;
    a.code = status_of(error);
    a.body = to_bytes(error.reason);
    return a;
  }
};

}  // namespace tether::lwm2m
