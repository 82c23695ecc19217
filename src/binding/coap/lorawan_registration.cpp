#include "binding/coap/lorawan_registration.hpp"

#include <cctype>

#include "lwm2m/operation/status.hpp"

namespace tether::binding::coap_binding {

namespace {
bool same_eui(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}
}  // namespace

Result<Ok> complete_lorawan_register(lwm2m::RegisterRequest& r, const std::string& dev_eui) {
  if (r.objects.objects.empty()) {
    return lwm2m::reject(lwm2m::status::kConflict,
                         "over LoRaWAN, register again with the object list");
  }
  if (!r.params.endpoint) r.params.endpoint = dev_eui;
  if (!r.params.lifetime) r.params.lifetime = kLorawanDefaultLifetime;
  if (!r.params.binding) r.params.binding = "N";
  r.params.queue_mode = true;
  return Ok{};
}

void compact_lorawan_register(lwm2m::RegisterRequest& r, const std::string& dev_eui) {
  if (r.params.endpoint && same_eui(*r.params.endpoint, dev_eui)) r.params.endpoint.reset();
  if (r.params.lifetime == kLorawanDefaultLifetime) r.params.lifetime.reset();
  // Binding N and queue mode go without saying over LoRaWAN.
  if (r.params.binding == "N") r.params.binding.reset();
  r.params.queue_mode = false;
}

}  // namespace tether::binding::coap_binding
