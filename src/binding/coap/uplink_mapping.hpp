#pragma once
// Transport TS 6.4.3 and 6.4.5 (CoAP binding), client to server: Register (POST /rd),
// Update (POST /rd/{id}), De-register (DELETE /rd/{id}) and Send (POST /dp) between CoAP
// messages and the binding-independent operation values.
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "coap/message.hpp"
#include "common/result.hpp"
#include "lwm2m/operation/registration_request.hpp"
#include "lwm2m/operation/uplink.hpp"

namespace tether::binding::coap_binding {

// Transport TS 6.4.3: locations live under /rd.
inline constexpr const char* kRegistrationRoot = "rd";
inline constexpr const char* kSendRoot = "dp";

using SendRequest = lwm2m::SendRequest;

using Uplink = std::variant<lwm2m::RegisterRequest, lwm2m::UpdateRequest, lwm2m::DeregisterRequest,
                            SendRequest>;

// Classifies and decodes a request from a client. Errors carry the response code of
// Transport TS Table 6.7-2/6.7-4 ("4.00 ...", "4.04 ...", "4.05 ..."); a request for
// another resource fails with 4.04.
Result<Uplink> decode_uplink(const coap::Message& request);

// The CoAP response carrying an engine's answer to the request with `token`: the code, a
// 2.01's location as Location-Path rd/{id}, and a body with its Content-Format (a refusal's
// body is its reason, a diagnostic payload: RFC 7252 5.5.2).
coap::Message encode_uplink_answer(ByteView token, const lwm2m::UplinkAnswer& answer);

// The client side (used by our client and by tests acting as one).
coap::Message encode_register(const lwm2m::RegisterRequest& request);
coap::Message encode_update(const lwm2m::UpdateRequest& request);
coap::Message encode_deregister(const lwm2m::DeregisterRequest& request);
// Send (Core TS 6.4.6): POST /dp with the records' Content-Format.
coap::Message encode_send(const lwm2m::SendRequest& request);
// A server's answer to any of them: a 2.01's Location-Path under /rd becomes the location
// (the registration ID), a 2.05's body and Content-Format the body (a Bootstrap-Pack).
lwm2m::UplinkAnswer decode_uplink_answer(const coap::Message& response);

}  // namespace tether::binding::coap_binding
