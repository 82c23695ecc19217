#pragma once
// Transport TS 8.3.1, 8.3.2 and 8.3.4 (MQTT binding), client to server: Bootstrap-Request,
// Bootstrap-Pack-Request, Register, Update, De-register and Send between the CBOR maps and
// the binding-independent operation values, and the generic response (8.4) that answers
// them. The registration is named by the topic's endpoint: MQTT has no location, so an
// Update or De-register carries an empty `location` and the endpoint beside it.
#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "binding/mqtt/mqtt_payload.hpp"
#include "binding/mqtt/topic.hpp"
#include "common/result.hpp"
#include "lwm2m/operation/bootstrap_request.hpp"
#include "lwm2m/operation/registration_request.hpp"
#include "lwm2m/operation/status.hpp"
#include "lwm2m/operation/uplink.hpp"

namespace tether::binding::mqtt {

using SendRequest = lwm2m::SendRequest;
using Uplink = lwm2m::Uplink;

struct ClientMessage {
  std::string endpoint;  // from the topic (8.2)
  std::uint64_t token = 0;
  Uplink request;
};

// What arrived on `topic` is a client's request; responses (8.4) and Notify go to the
// exchange that waits for their token instead. Errors carry the 8.5 result ("4.00 ...") for
// the answer; a map whose operation only a server sends (our own publication heard back on
// an MQTT 3.1.1 broker, or a peer that is not a client) fails with kNotAClientOperation.
inline constexpr const char* kNotAClientOperation = "not a client operation";
Result<ClientMessage> decode_uplink(const Topic& topic, const Payload& message);

// The client side (our client, and tests acting as one): the map for each request.
Payload encode_register(const lwm2m::RegisterRequest& request, std::uint64_t token);
Payload encode_update(const lwm2m::UpdateRequest& request, std::uint64_t token);
Payload encode_deregister(std::uint64_t token);
Payload encode_send(const SendRequest& request, std::uint64_t token);
Payload encode_bootstrap_request(const lwm2m::BootstrapRequest& request, std::uint64_t token);
Payload encode_bootstrap_pack_request(const lwm2m::BootstrapPackRequest& request,
                                      std::uint64_t token);

// 8.4: the generic response, with a body when there is one.
Payload encode_answer(lwm2m::Status status, std::uint64_t token,
                      std::optional<std::uint16_t> content_format = std::nullopt,
                      std::optional<Bytes> body = std::nullopt);
// The same for an engine's answer. MQTT has no location (the topic names the registration)
// and 8.4 no diagnostic: a refusal's reason stays in our logs, not on the wire.
Payload encode_uplink_answer(const lwm2m::UplinkAnswer& answer, std::uint64_t token);
// Our client reading a server's answer; fails for a map that is not a response.
Result<lwm2m::UplinkAnswer> decode_uplink_answer(const Payload& answer);

}  // namespace tether::binding::mqtt
