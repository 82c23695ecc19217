#include "binding/coap/lorawan_registration.hpp"

#include "binding/coap/network_identity.hpp"
#include "lwm2m/operation/status.hpp"

namespace tether::binding::coap_binding {

Result<Ok> complete_lorawan_register(lwm2m::RegisterRequest& r, const std::string& dev_eui,
                                     bool any_name) {
  if (r.objects.objects.empty()) {
    return lwm2m::reject(lwm2m::status::kConflict,
                         "over LoRaWAN, register again with the object list");
  }
  if (auto ok = bind_endpoint_name(r, dev_eui, any_name, "LoRaWAN"); !ok) return ok;
  if (!r.params.lifetime) r.params.lifetime = kLorawanDefaultLifetime;
  if (!r.params.binding) r.params.binding = "N";
  // Table 6.8.4-1: a Register without lwm2m= speaks 1.1.
  if (!r.params.version) r.params.version = "1.1";
  r.params.queue_mode = true;
  return Ok{};
}

void compact_lorawan_register(lwm2m::RegisterRequest& r, const std::string& dev_eui) {
  // Only the very name the server would give it back (the DevEUI in lower case).
  if (r.params.endpoint == dev_eui) r.params.endpoint.reset();
  if (r.params.lifetime == kLorawanDefaultLifetime) r.params.lifetime.reset();
  // Binding N and queue mode go without saying over LoRaWAN.
  if (r.params.binding == "N") r.params.binding.reset();
  r.params.queue_mode = false;
}

}  // namespace tether::binding::coap_binding
