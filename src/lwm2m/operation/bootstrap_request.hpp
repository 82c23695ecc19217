#pragma once
// The client's side of the Bootstrap interface as values (Core TS 6.1, Transport TS 6.4.2):
// Bootstrap-Request and Bootstrap-Pack-Request, whatever binding carried them.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace tether::lwm2m {

struct BootstrapRequest {
  std::optional<std::string> endpoint;            // ep (recommended, not required)
  std::optional<std::uint16_t> preferred_format;  // pct (LwM2M 1.1+)
};

struct BootstrapPackRequest {
  std::optional<std::string> endpoint;  // ep
  std::optional<std::uint16_t> accept;  // the format the client wants the pack in
};

// Reads the query of a Bootstrap-Request ("ep=x", "pct=112") or, with pct_allowed false, of
// a Bootstrap-Pack-Request. Unknown or repeated names and malformed values fail with 4.00.
Result<BootstrapRequest> parse_bootstrap_params(const std::vector<std::string>& queries,
                                                bool pct_allowed);
std::vector<std::string> to_queries(const BootstrapRequest& request);

}  // namespace tether::lwm2m
