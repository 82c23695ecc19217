#pragma once
// Transport TS 7.1.2, 7.1.3 and 7.1.5 (HTTP binding), client to server: Bootstrap-Request
// (POST /bs?ep=&pct=), Bootstrap-Pack-Request (GET /bspack?ep=, Accept), Register (POST
// /rd?ep=...), Update (POST /rd/{id}), De-register (DELETE /rd/{id}) and Send (POST /dp)
// between HTTP requests and the binding-independent operation values, and the answers.
#include <optional>
#include <string>

#include "common/result.hpp"
#include "http/message.hpp"
#include "lwm2m/operation/uplink.hpp"

namespace tether::binding::http_binding {

// Transport TS 7.1.3: locations live under /rd.
inline constexpr const char* kRegistrationRoot = "rd";
inline constexpr const char* kSendRoot = "dp";
inline constexpr const char* kBootstrapRoot = "bs";
inline constexpr const char* kBootstrapPackRoot = "bspack";

// Classifies and decodes a client's request. Errors carry the code of Table 7.3-1, 7.3-2 or
// 7.3-4 as an LwM2M code ("4.00 ...": 400; "4.04 ...": another resource; "4.05 ...": a
// method the resource does not take; "4.15 ...": a body format Send cannot carry).
Result<lwm2m::Uplink> decode_uplink(const http::Request& request);

// The HTTP response carrying an engine's answer to `request`: 201 with `Location: /rd/{id}`
// for a Register, 200 for a Bootstrap-Request (Table 7.3-1 names no other), 200 or 204 for
// the others as they carry a body or not; the body with its Content-Type (a Bootstrap-Pack;
// a refusal's reason as text/plain).
http::Response encode_uplink_answer(const lwm2m::Uplink& request,
                                    const lwm2m::UplinkAnswer& answer);

// The client side (our client, and tests acting as one). Targets are origin-form
// ("/rd?ep=dev1&lt=300"); the connection adds Host.
http::Request encode_uplink(const lwm2m::Uplink& request);
// A server's answer to `request`: the LwM2M code its table gives the HTTP status (200 to an
// Update is 2.04), a 201's Location under /rd as the registration ID, the body and its
// format. Fails for a 201 without a usable Location.
Result<lwm2m::UplinkAnswer> decode_uplink_answer(const lwm2m::Uplink& request,
                                                 const http::Response& response);

// Where the client's own HTTP server answers the server's requests (Transport TS 7.1.4
// leaves this open): the origin ("https://192.0.2.7:8443") in an RFC 8288 Link request
// header with rel="lwm2m-device", on Register, Update, Bootstrap-Request and Send. None when
// absent; fails (4.00) for one that is not an http or https origin.
inline constexpr const char* kDeviceRelation = "lwm2m-device";
Result<std::optional<std::string>> device_origin(const http::Request& request);
void announce_device_origin(http::Request& request, const std::string& origin);

// "https://host:port" with nothing after the authority, host a name, IPv4 or [IPv6].
Result<Ok> check_origin(std::string_view origin);

}  // namespace tether::binding::http_binding
