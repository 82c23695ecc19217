#pragma once
// Transport TS 6.4.2 (CoAP binding), client to bootstrap server: Bootstrap-Request (POST
// /bs?ep=&pct=) and Bootstrap-Pack-Request (GET /bspack?ep=, Accept) between CoAP messages
// and operation values. The server-to-client operations are in downlink_mapping.
#include <variant>

#include "coap/message.hpp"
#include "common/result.hpp"
#include "lwm2m/operation/bootstrap_request.hpp"

namespace tether::binding::coap_binding {

inline constexpr const char* kBootstrapRoot = "bs";
inline constexpr const char* kBootstrapPackRoot = "bspack";

using BootstrapUplink = std::variant<lwm2m::BootstrapRequest, lwm2m::BootstrapPackRequest>;

// Errors carry the code of Transport TS Table 6.7-1 (4.00 bad parameters, 4.04 another
// resource, 4.05 a wrong method).
Result<BootstrapUplink> decode_bootstrap_uplink(const coap::Message& request);

// The client side.
coap::Message encode_bootstrap_request(const lwm2m::BootstrapRequest& request);
coap::Message encode_bootstrap_pack_request(const lwm2m::BootstrapPackRequest& request);

}  // namespace tether::binding::coap_binding
