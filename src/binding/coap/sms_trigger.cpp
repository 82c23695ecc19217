#include "binding/coap/sms_trigger.hpp"

#include <string>

namespace tether::binding::coap_binding {

coap::Message sms_trigger(std::uint16_t server_instance, Trigger trigger) {
  coap::Message m;
  m.type = coap::Type::kNonConfirmable;
  m.code = coap::codes::kPost;
  m.set_path("/1/" + std::to_string(server_instance) +
             (trigger == Trigger::kRegistrationUpdate ? "/8" : "/9"));
  return m;
}

std::optional<std::uint16_t> registered_server_instance(
    const lwm2m::format::link_format::RegistrationPayload& objects) {
  for (const auto& o : objects.objects) {
    if (o.id == 1 && o.instances.size() == 1) return o.instances.front();
  }
  return std::nullopt;
}

}  // namespace tether::binding::coap_binding
