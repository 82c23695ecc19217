#pragma once
// LwM2M response codes. The Core and Transport TS number them as CoAP codes ("2.05 Content",
// Transport TS 6.7); the HTTP and MQTT bindings map these same values to their wire.
#include <string>

#include "coap/code.hpp"
#include "common/result.hpp"

namespace tether::lwm2m {

using Status = coap::Code;
namespace status = coap::codes;

// Errors on LwM2M code paths carry their response code as the reason's first word
// ("4.00 Bad Request: unknown parameter"). This reads it back, or `fallback`.
Status status_of(const Error& error, Status fallback = status::kBadRequest);
// "4.04 Not Found: reason".
Error reject(Status code, const std::string& reason);

}  // namespace tether::lwm2m
