#include "lwm2m/operation/bootstrap_request.hpp"

#include <charconv>

#include "common/text.hpp"
#include "lwm2m/endpoint_name.hpp"
#include "lwm2m/operation/status.hpp"

namespace tether::lwm2m {

Result<BootstrapRequest> parse_bootstrap_params(const std::vector<std::string>& queries,
                                                bool pct_allowed) {
  BootstrapRequest out;
  for (const auto& q : queries) {
    const auto eq = q.find('=');
    const std::string name = q.substr(0, eq);
    if (eq == std::string::npos) {
      return reject(status::kBadRequest, "parameter " + printable(name, 32) + " needs a value");
    }
    const std::string value = q.substr(eq + 1);
    if (name == "ep") {
      if (out.endpoint) return reject(status::kBadRequest, "ep is given twice");
      if (auto ok = check_endpoint_name(value); !ok) return ok.error();
      out.endpoint = value;
    } else if (name == "pct" && pct_allowed) {
      if (out.preferred_format) return reject(status::kBadRequest, "pct is given twice");
      std::uint16_t number = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
      if (ec != std::errc{} || end != value.data() + value.size() || value.empty()) {
        return reject(status::kBadRequest, "pct must be a Content-Format number");
      }
      out.preferred_format = number;
    } else {
      return reject(status::kBadRequest, "unknown parameter " + printable(name, 32));
    }
  }
  return out;
}

std::vector<std::string> to_queries(const BootstrapRequest& request) {
  std::vector<std::string> out;
  if (request.endpoint) out.push_back("ep=" + *request.endpoint);
  if (request.preferred_format) out.push_back("pct=" + std::to_string(*request.preferred_format));
  return out;
}

}  // namespace tether::lwm2m
