#pragma once
// Transport TS 7.1.2 and 7.1.4 (HTTP binding) from the client's side: a server's HTTP request
// as a DownlinkRequest, and the client's answer as the HTTP response. The inverse of
// downlink_mapping; the client's logic sees only the operation values.
#include <string>

#include "common/result.hpp"
#include "http/message.hpp"
#include "lwm2m/model/object_definition.hpp"
#include "lwm2m/operation/answer_body.hpp"
#include "lwm2m/operation/downlink_request.hpp"

namespace tether::binding::http_binding {

// `bootstrap`: the request comes from the Bootstrap-Server, so GET, PUT and DELETE are the
// Bootstrap interface's and paths are plain (7.1.1); otherwise they lie under
// `alternate_path` ("/" or "/lwm2m"). Errors carry the code to answer: 4.04 for a path that
// is no LwM2M path, 4.05 for a method that has no operation there, 4.06 for an Accept that
// names no LwM2M format, 4.15 for a body format we cannot read, 4.00 for a body or query
// that does not parse, 5.01 for the methods of operations section 7 leaves out (FETCH,
// PATCH, iPATCH: the composite operations).
Result<lwm2m::DownlinkRequest> decode_device_request(const http::Request& request, bool bootstrap,
                                                     const std::string& alternate_path,
                                                     const lwm2m::model::Model& model);

// The HTTP response for the client's answer: its status (7.3), Content-Type and body, and a
// Create's Location ("{alternate_path}/O/I").
http::Response encode_device_response(const lwm2m::EncodedAnswer& answer,
                                      const std::string& alternate_path);

}  // namespace tether::binding::http_binding
