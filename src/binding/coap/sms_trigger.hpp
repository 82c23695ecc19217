#pragma once
// Transport TS 6.6: the triggers a server sends over SMS to a client registered on another
// binding: Execute of the Registration Update Trigger (/1/x/8) or of the Bootstrap-Request
// Trigger (/1/x/9) in the client's Server object instance x. The client answers nothing,
// so the Execute goes as a NON message (Transport TS 6.4.5 allows it for triggers).
#include <cstdint>
#include <optional>

#include "coap/message.hpp"
#include "lwm2m/format/link_format.hpp"

namespace tether::binding::coap_binding {

enum class Trigger { kRegistrationUpdate, kBootstrapRequest };

coap::Message sms_trigger(std::uint16_t server_instance, Trigger trigger);

// The Server object instance a registration lists (</1/x>), when it lists exactly one.
std::optional<std::uint16_t> registered_server_instance(
    const lwm2m::format::link_format::RegistrationPayload& objects);

}  // namespace tether::binding::coap_binding
