#pragma once
// Over LoRaWAN and NIDD the network, not the device, says who is speaking: the network
// server authenticated the DevEUI, the SCEF the External Identifier. That name is the
// device's endpoint name: a device must not take another's registration by naming it.
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "lwm2m/operation/registration_request.hpp"

namespace tether::binding::coap_binding {

// Fills in `name` when the Register names no endpoint; 4.03 when it names another, unless
// `any_name` (the operator trusts the devices' own names). `network` says which network
// vouched for it, for the diagnostic ("LoRaWAN", "NIDD").
Result<Ok> bind_endpoint_name(lwm2m::RegisterRequest& r, const std::string& name, bool any_name,
                              std::string_view network);

}  // namespace tether::binding::coap_binding
