#pragma once
// Transport TS 7.1.2 and 7.1.4 (HTTP binding), server to client: each DownlinkRequest as the
// HTTP request of its table row, under the client's alternate path (7.1.1; the Bootstrap
// interface always uses plain paths), and the client's response back as a
// DownlinkResponse. Section 7 carries no Observe, Cancel-Observation, Read-Composite or
// Write-Composite (7.1.4, 7.1.5): those fail here with 5.01, before anything is sent.
#include <string>

#include "common/result.hpp"
#include "http/message.hpp"
#include "lwm2m/model/object_definition.hpp"
#include "lwm2m/operation/downlink_request.hpp"

namespace tether::binding::http_binding {

// Whether section 7 has a row for this operation.
bool carries(lwm2m::Operation op);

// The body of a Write or Create goes in request.format, which must be set.
Result<http::Request> encode_downlink(const lwm2m::DownlinkRequest& request,
                                      const std::string& alternate_path,
                                      const lwm2m::model::Model& model);

// The client's answer: the LwM2M code its table gives the status (200 to a Read is 2.05, to
// a Write 2.04, to a Delete 2.02; a Create's 200, 201 or 204 is 2.01 with the Location it
// names), and the body decoded for the request.
lwm2m::DownlinkResponse decode_downlink_response(const lwm2m::DownlinkRequest& request,
                                                 const http::Response& response,
                                                 const std::string& alternate_path,
                                                 const lwm2m::model::Model& model);

// The code a success of this operation has in LwM2M (what 200 and 204 stand for).
lwm2m::Status success_of(lwm2m::Operation op);

}  // namespace tether::binding::http_binding
