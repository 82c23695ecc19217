#include "binding/coap/network_identity.hpp"

#include "lwm2m/operation/status.hpp"

namespace tether::binding::coap_binding {

Result<Ok> bind_endpoint_name(lwm2m::RegisterRequest& r, const std::string& name, bool any_name,
                              std::string_view network) {
  if (!r.params.endpoint) r.params.endpoint = name;
  if (!any_name && *r.params.endpoint != name) {
    return lwm2m::reject(lwm2m::status::kForbidden,
                         "over " + std::string(network) + " the endpoint name is " + name);
  }
  return Ok{};
}

}  // namespace tether::binding::coap_binding
