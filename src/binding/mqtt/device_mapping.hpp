#pragma once
// Transport TS 8.3.1, 8.3.3 and 8.3.4 (MQTT binding) from the client's side: a server's map
// as a DownlinkRequest (the inverse of downlink_mapping), and the client's answer or
// notification as the generic response (8.4) or a Notify map. The client's logic sees only
// the operation values.
#include <cstdint>

#include "binding/mqtt/mqtt_payload.hpp"
#include "binding/mqtt/topic.hpp"
#include "common/result.hpp"
#include "lwm2m/model/object_definition.hpp"
#include "lwm2m/operation/answer_body.hpp"
#include "lwm2m/operation/downlink_request.hpp"

namespace tether::binding::mqtt {

// The operation code means what the topic's interface says (bs: 8.3.1, rd: 8.3.3-8.3.4).
// Errors carry the 8.5 result to answer with: 4.00 for an unknown operation, a missing or
// bad uri, a body that does not decode; 4.15 for a body format we cannot read. Cancel-Observe
// is the exchange layer's (it names an observation by token) and fails here.
Result<lwm2m::DownlinkRequest> decode_device_request(const Topic& topic, const Payload& request,
                                                     const lwm2m::model::Model& model);

// 8.4: the generic response carrying the client's answer (the token is the exchange's).
Payload encode_device_answer(const lwm2m::EncodedAnswer& answer);
// 8.3.4: a Notify under the observation's token.
Payload encode_notify(const lwm2m::EncodedAnswer& content, std::uint64_t token);

}  // namespace tether::binding::mqtt
