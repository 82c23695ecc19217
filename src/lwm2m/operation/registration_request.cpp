#include "lwm2m/operation/registration_request.hpp"

#include <charconv>

#include "common/text.hpp"
#include "lwm2m/endpoint_name.hpp"
#include "lwm2m/operation/status.hpp"

namespace tether::lwm2m {

namespace {

bool allowed_name(std::string_view allowed, std::string_view name) {
  std::size_t start = 0;
  while (start <= allowed.size()) {
    const std::size_t end = std::min(allowed.find(',', start), allowed.size());
    if (allowed.substr(start, end - start) == name) return true;
    start = end + 1;
  }
  return false;
}

// Core TS 6.2.1: the MSISDN of `sms` is E.164 (at most 15 digits) but clients write it with a
// '+', spaces or dashes; the Profile ID is free text. Both reach the store and the API.
constexpr std::size_t kMaxSmsNumber = 32;
constexpr std::size_t kMaxProfileId = 256;

Result<std::uint32_t> parse_lifetime(std::string_view text) {
  std::uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc{} || ptr != text.data() + text.size() || v == 0 ||
      v > 0xffffffffu) {
    return reject(status::kBadRequest, "lt must be a positive number of seconds");
  }
  return static_cast<std::uint32_t>(v);
}

}  // namespace

Result<RegistrationParams> parse_registration_params(const std::vector<std::string>& queries,
                                                     std::string_view allowed) {
  RegistrationParams p;
  std::vector<std::string> seen;
  for (const auto& q : queries) {
    const auto eq = q.find('=');
    const std::string name = q.substr(0, eq);
    const bool has_value = eq != std::string::npos;
    const std::string value = has_value ? q.substr(eq + 1) : std::string{};
    if (!allowed_name(allowed, name)) {
      return reject(status::kBadRequest, "unknown parameter '" + printable(name, 32) + "'");
    }
    for (const auto& s : seen) {
      if (s == name) return reject(status::kBadRequest, "parameter '" + name + "' repeated");
    }
    seen.push_back(name);
    if (name == "Q") {
      if (has_value) return reject(status::kBadRequest, "Q takes no value");
      p.queue_mode = true;
      continue;
    }
    if (!has_value || value.empty()) {
      return reject(status::kBadRequest, "parameter '" + name + "' needs a value");
    }
    if (name == "ep") {
      if (auto ok = check_endpoint_name(value); !ok) return ok.error();
      p.endpoint = value;
    } else if (name == "lt") {
      auto lt = parse_lifetime(value);
      if (!lt) return lt.error();
      p.lifetime = *lt;
    } else if (name == "lwm2m") {
      // The registry checks the form; here only that it can be quoted back.
      if (auto ok = check_text(value, "lwm2m", 16); !ok) {
        return reject(status::kBadRequest, ok.error().reason);
      }
      p.version = value;
    } else if (name == "b") {
      if (!is_valid_binding(value)) {
        return reject(status::kBadRequest, "binding '" + printable(value, 16) + "' is not valid");
      }
      p.binding = value;
    } else if (name == "sms") {
      if (auto ok = check_text(value, "sms", kMaxSmsNumber); !ok) {
        return reject(status::kBadRequest, ok.error().reason);
      }
      p.sms = value;
    } else if (name == "pid") {
      if (auto ok = check_text(value, "pid", kMaxProfileId); !ok) {
        return reject(status::kBadRequest, ok.error().reason);
      }
      p.profile_id = value;
    }
  }
  return p;
}

std::vector<std::string> to_queries(const RegistrationParams& p) {
  std::vector<std::string> out;
  if (p.endpoint) out.push_back("ep=" + *p.endpoint);
  if (p.lifetime) out.push_back("lt=" + std::to_string(*p.lifetime));
  if (p.version) out.push_back("lwm2m=" + *p.version);
  if (p.binding) out.push_back("b=" + *p.binding);
  if (p.queue_mode) out.emplace_back("Q");
  if (p.sms) out.push_back("sms=" + *p.sms);
  if (p.profile_id) out.push_back("pid=" + *p.profile_id);
  return out;
}

bool is_supported_version(std::string_view version) {
  return version == "1.0" || version == "1.1" || version == "1.2";
}

bool is_valid_binding(std::string_view binding) {
  if (binding.empty()) return false;
  std::string seen;
  for (char c : binding) {
    if (std::string_view("UMHTSNQ").find(c) == std::string_view::npos) return false;
    if (seen.find(c) != std::string::npos) return false;
    seen.push_back(c);
  }
  return true;
}

BindingClaim claim_binding(std::string_view server_binding, std::string_view version,
                           bool queue_mode, std::string_view carriers, char fallback) {
  BindingClaim out;
  bool queue = queue_mode;
  for (char c : server_binding) {
    if (c == 'Q') {
      queue = true;
    } else if (carriers.find(c) != std::string_view::npos &&
               out.binding.find(c) == std::string::npos) {
      out.binding.push_back(c);
    }
  }
  if (out.binding.empty()) out.binding.push_back(fallback);
  if (version == "1.0") {
    if (queue) out.binding.push_back('Q');
  } else {
    out.queue_mode = queue;
  }
  return out;
}

}  // namespace tether::lwm2m
