#pragma once
// The Endpoint Client Name (Core TS 6.2.1 `ep`, 6.1.3 Bootstrap-Request): the key of every
// registration, bootstrap configuration and credential, and a part of API paths, log lines
// and events. Every place a name enters (the CoAP binding, the REST API, configuration
// files) checks it here, so a name that is stored can always be written out again.
#include <cstddef>
#include <string_view>

#include "common/result.hpp"

namespace tether::lwm2m {

// Long enough for every URN form the Core TS suggests (urn:uuid, urn:imei-imsi, urn:dev:ops
// with a long serial), short enough that a name is never a memory lever.
inline constexpr std::size_t kMaxEndpointName = 256;

// Ok for a non-empty UTF-8 name without control characters of at most kMaxEndpointName
// bytes; otherwise a "4.00" error saying why. Any other character, '/' included, is allowed:
// the REST API takes percent-encoded names (`a%2Fb`).
Result<Ok> check_endpoint_name(std::string_view name);

}  // namespace tether::lwm2m
