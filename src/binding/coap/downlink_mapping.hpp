#pragma once
// Transport TS 6.4.4 and 6.4.5 (CoAP binding), server to client: each DownlinkRequest as
// a CoAP request (method, Uri-Path under the client's alternate path, Accept/Content-Format,
// Observe, queries) and the client's CoAP response as a DownlinkResponse.
#include <string>

#include "coap/message.hpp"
#include "common/result.hpp"
#include "lwm2m/model/object_definition.hpp"
#include "lwm2m/operation/downlink_request.hpp"

namespace tether::binding::coap_binding {

// `alternate_path` is the client's root ("/" or e.g. "/lwm2m", Core TS 6.2.1). The body
// of a Write, Create or Write-Composite is encoded in request.format, which must be set.
Result<coap::Message> encode_downlink(const lwm2m::DownlinkRequest& request,
                                      const std::string& alternate_path,
                                      const lwm2m::model::Model& model);

// Decodes what the client answered (or notified) to `request`. A payload that does not
// decode leaves the code as the client sent it and fills decode_error.
lwm2m::DownlinkResponse decode_downlink_response(const lwm2m::DownlinkRequest& request,
                                                 const coap::Message& response,
                                                 const std::string& alternate_path,
                                                 const lwm2m::model::Model& model);

}  // namespace tether::binding::coap_binding
