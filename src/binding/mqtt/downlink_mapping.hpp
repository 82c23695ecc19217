#pragma once
// Transport TS 8.3.1, 8.3.3-8.3.4 and 8.4 (MQTT binding), server to client: each
// DownlinkRequest as the CBOR map of its operation, and the client's generic response (or a
// Notify) back as a DownlinkResponse. The MQTT maps have less room than CoAP: a Read names
// no preferred format (the client picks), an Observe carries no attributes, and a
// Write-Attributes cannot unset one; such requests fail here with a 4.00 saying so.
#include <cstdint>

#include "binding/mqtt/mqtt_payload.hpp"
#include "common/result.hpp"
#include "lwm2m/model/object_definition.hpp"
#include "lwm2m/operation/downlink_request.hpp"

namespace tether::binding::mqtt {

// The body of a Write, Create or Write-Composite is encoded in request.format, which must
// be set. `token` correlates the answer (8.3).
Result<Payload> encode_downlink(const lwm2m::DownlinkRequest& request, std::uint64_t token,
                                const lwm2m::model::Model& model);

// The client's answer: a generic response (8.4, `result`) or a Notify (operation 23,
// result 2.05 implied). Fails for a map that is neither, or a result that names no code.
Result<lwm2m::DownlinkResponse> decode_downlink_response(const lwm2m::DownlinkRequest& request,
                                                         const Payload& answer,
                                                         const lwm2m::model::Model& model);

// 8.5: result numbers are CoAP codes written as class * 100 + detail ("205").
std::uint64_t result_of(lwm2m::Status status);
Result<lwm2m::Status> status_of_result(std::uint64_t result);

}  // namespace tether::binding::mqtt
