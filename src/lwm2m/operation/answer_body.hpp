#pragma once
// The body of a client's answer (or notification) to a DownlinkRequest, read the same way
// whichever binding carried it: CoAP's Content-Format, MQTT's ct and HTTP's Content-Type all
// name the same numbers. Discover answers are links, composite operations (and a SenML
// time series) records, anything else a tree under the request's path.
#include <cstdint>
#include <optional>

#include "common/bytes.hpp"
#include "lwm2m/model/object_definition.hpp"
#include "lwm2m/operation/downlink_request.hpp"

namespace tether::lwm2m {

// Fills out.format and out.links / bootstrap_links / records / content, or out.decode_error
// when the body does not decode (the code stays the client's).
void decode_answer_body(const DownlinkRequest& request, std::uint16_t content_format,
                        ByteView payload, const model::Model& model, DownlinkResponse& out);

// A client's answer (or notification) with its body encoded, for any binding to carry.
struct EncodedAnswer {
  Status code = status::kContent;
  std::optional<std::uint16_t> content_format;
  Bytes body;
  std::optional<Path> created;  // Create: where the new instance lives
  friend bool operator==(const EncodedAnswer&, const EncodedAnswer&) = default;
};

// The inverse of decode_answer_body: links for Discover, records for composite operations
// (and time series), else the tree under the request's path, in response.format. A body the
// format cannot carry answers 4.06; an error keeps its payload (the reason) as the body.
EncodedAnswer encode_answer(const DownlinkRequest& request, const DownlinkResponse& response,
                            const model::Model& model);

}  // namespace tether::lwm2m
