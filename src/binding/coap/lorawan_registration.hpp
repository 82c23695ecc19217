#pragma once
// Transport TS 6.8.4, Table 6.8.4-1: over LoRaWAN a Register may leave out what the
// network already knows. The endpoint name defaults to the DevEUI, the lifetime to 30
// days; the client is in queue mode by nature (a class A device hears only after it
// sends). The object list may be left out of a first Register: without a way to learn it
// out of band we answer 4.09, and the client registers again with it.
#include <cstdint>
#include <string>

#include "common/result.hpp"
#include "lwm2m/operation/registration_request.hpp"

namespace tether::binding::coap_binding {

inline constexpr std::uint32_t kLorawanDefaultLifetime = 2'592'000;

// Fills in the defaults for a Register from `dev_eui` (16 hex digits), binding N and queue
// mode; a 4.09 error when the object list is missing. LoRaWAN authenticated the DevEUI and
// nothing else: unless `any_name`, a name other than the DevEUI is refused with 4.03 (a
// device must not take another's registration by naming it).
Result<Ok> complete_lorawan_register(lwm2m::RegisterRequest& r, const std::string& dev_eui,
                                     bool any_name);
// What a client leaves out of its Register over LoRaWAN: a name equal to its DevEUI, the
// default lifetime, binding N and Q (both go without saying).
void compact_lorawan_register(lwm2m::RegisterRequest& r, const std::string& dev_eui);

}  // namespace tether::binding::coap_binding
