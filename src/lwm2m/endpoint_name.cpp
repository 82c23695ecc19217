#include "lwm2m/endpoint_name.hpp"

#include "common/text.hpp"
#include "lwm2m/operation/status.hpp"

namespace tether::lwm2m {

Result<Ok> check_endpoint_name(std::string_view name) {
  if (name.empty()) return reject(status::kBadRequest, "the endpoint name is empty");
  if (auto ok = check_text(name, "the endpoint name", kMaxEndpointName); !ok) {
    return reject(status::kBadRequest, ok.error().reason);
  }
  return Ok{};
}

}  // namespace tether::lwm2m
