#pragma once
// The Registration interface as values (Core TS 6.2, Transport TS 6.4.3): what a client
// asks for, whatever binding carried it. Each binding's mapping builds these from its wire
// form; the server's registry applies them.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "lwm2m/format/link_format.hpp"

namespace tether::lwm2m {

// The query parameters of Register and Update (Transport TS Table 6.4.3-1).
struct RegistrationParams {
  std::optional<std::string> endpoint;    // ep
  std::optional<std::uint32_t> lifetime;  // lt, seconds
  std::optional<std::string> version;     // lwm2m
  std::optional<std::string> binding;     // b
  bool queue_mode = false;                // Q (or a 'Q' in a 1.0 binding)
  std::optional<std::string> sms;         // sms
  std::optional<std::string> profile_id;  // pid
  friend bool operator==(const RegistrationParams&, const RegistrationParams&) = default;
};

struct RegisterRequest {
  RegistrationParams params;
  format::link_format::RegistrationPayload objects;
};

struct UpdateRequest {
  std::string location;  // the registration ID the server handed out (after /rd/)
  RegistrationParams params;
  std::optional<format::link_format::RegistrationPayload> objects;  // a new object list
};

struct DeregisterRequest {
  std::string location;
};

// Reads "ep=x", "lt=60", "Q", ... Unknown names, repeated names, values where none belong
// and malformed numbers fail with a 4.00 reason. `allowed` lists the names the operation
// takes (Register takes all; Update takes lt, b, Q, sms and pid).
Result<RegistrationParams> parse_registration_params(const std::vector<std::string>& queries,
                                                     std::string_view allowed);
std::vector<std::string> to_queries(const RegistrationParams& params);

// LwM2M versions this stack speaks (Core TS 6.2.1.1: a client of another major/minor
// version is refused with 4.12).
bool is_supported_version(std::string_view version);
// The binding letters of Core TS 6.2.1.1 (1.1+: U, M, H, T, S, N; 1.0 adds Q).
bool is_valid_binding(std::string_view binding);

// What a client claims in Register/Update for its Server object's Binding (/1/x/7): only the
// carriers it has a transport for (letters of `carriers`, e.g. "UT"), falling back to
// `fallback`, the carrier it speaks on; queue mode as 1.0's trailing Q in b= or, from 1.1
// on, as the Q parameter (a Binding "UQ" written by a 1.0-minded server asks for it too).
struct BindingClaim {
  std::string binding;
  bool queue_mode = false;
};
BindingClaim claim_binding(std::string_view server_binding, std::string_view version,
                           bool queue_mode, std::string_view carriers, char fallback);

}  // namespace tether::lwm2m
