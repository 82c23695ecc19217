#pragma once
// The body of a client's answer (or notification) to a DownlinkRequest, read the same way
// whichever binding carried it: CoAP's Content-Format, MQTT's ct and HTTP's Content-Type all
// name the same numbers. Discover answers are links, composite operations (and a SenML
// time series) records, anything else a tree under the request's path.
#include <cstdint>

#include "common/bytes.hpp"
#include "lwm2m/model/object_definition.hpp"
#include "lwm2m/operation/downlink_request.hpp"

namespace tether::lwm2m {

// Fills out.format and out.links / bootstrap_links / records / content, or out.decode_error
// when the body does not decode (the code stays the client's).
void decode_answer_body(const DownlinkRequest& request, std::uint16_t content_format,
                        ByteView payload, const model::Model& model, DownlinkResponse& out);

}  // namespace tether::lwm2m
