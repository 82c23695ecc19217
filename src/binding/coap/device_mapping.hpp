#pragma once
// Transport TS 6.4.4, 6.4.5 and 6.1.7 (CoAP binding) from the client's side: a server's
// CoAP request as a DownlinkRequest, and the client's DownlinkResponse as the CoAP response.
// The inverse of downlink_mapping; the client's logic sees only the operation values.
#include "coap/message.hpp"
#include "common/result.hpp"
#include "lwm2m/model/object_definition.hpp"
#include "lwm2m/operation/answer_body.hpp"
#include "lwm2m/operation/downlink_request.hpp"

namespace tether::binding::coap_binding {

// `bootstrap` says the request comes from the Bootstrap-Server, so GET, PUT and DELETE are
// the Bootstrap interface's operations. Errors carry the code to answer: 4.04 for a path
// that is no LwM2M path, 4.05 for a method that has no operation there, 4.06 for an
// Accept that is no LwM2M format, 4.15 for a body format we cannot read, 4.00 for a body
// or query that does not parse.
Result<lwm2m::DownlinkRequest> decode_device_request(const coap::Message& request, bool bootstrap,
                                                     const lwm2m::model::Model& model);

// The CoAP response (code, Content-Format, Location-Path, payload) for `response`. A body
// that the chosen format cannot carry answers 4.06.
coap::Message encode_device_response(const lwm2m::DownlinkRequest& request,
                                     const lwm2m::DownlinkResponse& response,
                                     const lwm2m::model::Model& model);
// The same for an answer already encoded (lwm2m::encode_answer).
coap::Message encode_device_response(const lwm2m::EncodedAnswer& answer);

}  // namespace tether::binding::coap_binding
