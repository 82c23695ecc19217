#include "binding/http/uplink_mapping.hpp"

#include <charconv>

#include "binding/http/http_status.hpp"
#include "binding/http/media_type.hpp"
#include "binding/http/request_parts.hpp"
#include "common/text.hpp"
#include "lwm2m/format/link_format.hpp"
#include "lwm2m/operation/status.hpp"

namespace tether::binding::http_binding {

namespace {
using lwm2m::reject;
namespace status = lwm2m::status;
namespace link_format = lwm2m::format::link_format;

constexpr std::uint16_t kLinkFormat = 40;

Result<link_format::RegistrationPayload> decode_objects(const http::Request& r) {
  auto format = body_format(r.headers);
  if (!format || (*format && **format != kLinkFormat)) {
    return reject(status::kBadRequest, "the object list must be application/link-format");
  }
  auto objects = link_format::parse_registration(r.body);
  if (!objects) return reject(status::kBadRequest, "object list: " + objects.error().reason);
  return objects;
}

void set_objects(http::Request& r, const link_format::RegistrationPayload& objects) {
  set_body(r.headers, r.body, kLinkFormat, link_format::serialize_registration(objects));
}

std::string root(const char* name) {
  return std::string("/") + name;
}

Result<lwm2m::Uplink> decode_registration(const http::Request& request,
                                          const std::vector<std::string>& segments,
                                          const std::vector<std::string>& queries) {
  if (segments.size() == 1) {
    if (request.method != "POST") {
      return reject(status::kMethodNotAllowed, "Register is a POST to /rd");
    }
    auto params = lwm2m::parse_registration_params(queries, "ep,lt,lwm2m,b,Q,sms,pid");
    if (!params) return params.error();
    auto objects = decode_objects(request);
    if (!objects) return objects.error();
    return lwm2m::Uplink{lwm2m::RegisterRequest{std::move(*params), std::move(*objects)}};
  }
  if (segments.size() != 2) return reject(status::kNotFound, "no such registration");
  const std::string& location = segments[1];
  if (request.method == "DELETE") {
    if (!queries.empty()) return reject(status::kBadRequest, "De-register takes no parameters");
    return lwm2m::Uplink{lwm2m::DeregisterRequest{location}};
  }
  if (request.method != "POST") {
    return reject(status::kMethodNotAllowed, "Update is a POST, De-register a DELETE");
  }
  auto params = lwm2m::parse_registration_params(queries, "lt,b,Q,sms,pid");
  if (!params) return params.error();
  lwm2m::UpdateRequest update{location, std::move(*params), std::nullopt};
  if (!request.body.empty()) {
    auto objects = decode_objects(request);
    if (!objects) return objects.error();
    update.objects = std::move(*objects);
  }
  return lwm2m::Uplink{std::move(update)};
}

// The success code each uplink's table gives 200 and 204.
lwm2m::Status success_of(const lwm2m::Uplink& request) {
  if (std::holds_alternative<lwm2m::RegisterRequest>(request)) return status::kCreated;
  if (std::holds_alternative<lwm2m::DeregisterRequest>(request)) return status::kDeleted;
  if (std::holds_alternative<lwm2m::BootstrapPackRequest>(request)) return status::kContent;
  return status::kChanged;
}

bool valid_port(std::string_view digits) {
  unsigned port = 0;
  const auto* end = digits.data() + digits.size();
  const auto [at, ec] = std::from_chars(digits.data(), end, port);
  return ec == std::errc{} && at == end && port >= 1 && port <= 65535 && digits.size() <= 5;
}

}  // namespace

Result<lwm2m::Uplink> decode_uplink(const http::Request& request) {
  auto segments = path_segments(request.path);
  if (!segments) return segments.error();
  const std::string where = printable(request.path, 64);
  if (segments->empty()) return reject(status::kNotFound, "no such resource " + where);
  auto queries = query_strings(request);
  if (!queries) return queries.error();
  const std::string& first = segments->front();
  if (first == kRegistrationRoot) return decode_registration(request, *segments, *queries);
  if (segments->size() != 1) return reject(status::kNotFound, "no such resource " + where);
  if (first == kSendRoot) {
    if (request.method != "POST") return reject(status::kMethodNotAllowed, "Send is a POST");
    auto format = body_format(request.headers);
    if (!format) return format.error();
    if (!*format) return reject(status::kBadRequest, "Send needs a Content-Type");
    return lwm2m::Uplink{lwm2m::SendRequest{**format, to_bytes(request.body)}};
  }
  if (first == kBootstrapRoot) {
    if (request.method != "POST") {
      return reject(status::kMethodNotAllowed, "Bootstrap-Request is a POST");
    }
    auto params = lwm2m::parse_bootstrap_params(*queries, true);
    if (!params) return params.error();
    return lwm2m::Uplink{std::move(*params)};
  }
  if (first == kBootstrapPackRoot) {
    if (request.method != "GET") {
      return reject(status::kMethodNotAllowed, "Bootstrap-Pack-Request is a GET");
    }
    auto params = lwm2m::parse_bootstrap_params(*queries, false);
    if (!params) return params.error();
    auto accept = accepted_format(request.headers.get("Accept"));
    if (!accept) return accept.error();
    return lwm2m::Uplink{lwm2m::BootstrapPackRequest{params->endpoint, *accept}};
  }
  return reject(status::kNotFound, "no such resource " + where);
}

http::Response encode_uplink_answer(const lwm2m::Uplink& request,
                                    const lwm2m::UplinkAnswer& answer) {
  http::Response r;
  r.status = http_status_of(answer.code, !answer.body.empty());
  if (r.status == 204 && std::holds_alternative<lwm2m::BootstrapRequest>(request)) r.status = 200;
  if (answer.retry_after) r.headers.set("Retry-After", std::to_string(*answer.retry_after));
  if (answer.code == status::kCreated && !answer.location.empty()) {
    r.headers.set("Location", root(kRegistrationRoot) + "/" + percent_encode(answer.location));
  }
  if (!answer.body.empty()) {
    const std::string_view bytes(reinterpret_cast<const char*>(answer.body.data()),
                                 answer.body.size());
    // A refusal's body is its reason, for people reading traces.
    set_body(r.headers, r.body, answer.content_format.value_or(0), bytes);
  }
  return r;
}

http::Request encode_uplink(const lwm2m::Uplink& request) {
  return std::visit(
      [](const auto& u) -> http::Request {
        using T = std::decay_t<decltype(u)>;
        if constexpr (std::is_same_v<T, lwm2m::RegisterRequest>) {
          auto r =
              make_request("POST", root(kRegistrationRoot), query_of(lwm2m::to_queries(u.params)));
          set_objects(r, u.objects);
          return r;
        } else if constexpr (std::is_same_v<T, lwm2m::UpdateRequest>) {
          auto r = make_request("POST", root(kRegistrationRoot) + "/" + percent_encode(u.location),
                                query_of(lwm2m::to_queries(u.params)));
          if (u.objects) set_objects(r, *u.objects);
          return r;
        } else if constexpr (std::is_same_v<T, lwm2m::DeregisterRequest>) {
          return make_request("DELETE", root(kRegistrationRoot) + "/" + percent_encode(u.location));
        } else if constexpr (std::is_same_v<T, lwm2m::SendRequest>) {
          auto r = make_request("POST", root(kSendRoot));
          set_body(
              r.headers, r.body, u.content_format,
              std::string_view(reinterpret_cast<const char*>(u.payload.data()), u.payload.size()));
          return r;
        } else if constexpr (std::is_same_v<T, lwm2m::BootstrapRequest>) {
          return make_request("POST", root(kBootstrapRoot), query_of(lwm2m::to_queries(u)));
        } else {
          std::vector<std::string> queries;
          if (u.endpoint) queries.push_back("ep=" + *u.endpoint);
          auto r = make_request("GET", root(kBootstrapPackRoot), query_of(queries));
          if (u.accept) {
            if (auto type = media_type_of(*u.accept)) r.headers.set("Accept", std::string(*type));
          }
          return r;
        }
      },
      request);
}

Result<lwm2m::UplinkAnswer> decode_uplink_answer(const lwm2m::Uplink& request,
                                                 const http::Response& response) {
  lwm2m::UplinkAnswer a;
  a.code = status_of_http(response.status, success_of(request));
  if (a.code == status::kCreated && std::holds_alternative<lwm2m::RegisterRequest>(request)) {
    // Transport TS 7.1.3: the location lies under /rd; it may come as an absolute URI.
    std::string_view location = response.headers.get("Location").value_or("");
    if (const auto scheme = location.find("://"); scheme != std::string_view::npos) {
      const auto path = location.find('/', scheme + 3);
      location = path == std::string_view::npos ? std::string_view{} : location.substr(path);
    }
    location = location.substr(0, location.find_first_of("?#"));
    auto segments = path_segments(location);
    if (!segments || segments->size() != 2 || (*segments)[0] != kRegistrationRoot ||
        (*segments)[1].empty()) {
      return fail("a 201 without a Location under /rd");
    }
    a.location = (*segments)[1];
  }
  auto format = body_format(response.headers);
  if (format && *format) a.content_format = **format;
  a.body = to_bytes(response.body);
  return a;
}

Result<Ok> check_origin(std::string_view origin) {
  // It is stored as the registration's address and logged: clean text first, every branch.
  if (auto ok = check_text(origin, "origin", 300); !ok) return ok.error();
  std::string_view rest;
  if (origin.starts_with("https://")) {
    rest = origin.substr(8);
  } else if (origin.starts_with("http://")) {
    rest = origin.substr(7);
  } else {
    return fail("not an http or https origin");
  }
  if (rest.empty() || rest.find_first_of("/?#@ \t") != std::string_view::npos) {
    return fail("an origin is scheme://host[:port] only");
  }
  std::string_view port;
  if (rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos || close < 3) return fail("a bad IPv6 literal");
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') return fail("junk after the IPv6 literal");
      port = rest.substr(close + 2);
      if (!valid_port(port)) return fail("a bad port");
    }
    return Ok{};
  }
  const auto colon = rest.find(':');
  if (colon == 0) return fail("no host");
  if (colon != std::string_view::npos && !valid_port(rest.substr(colon + 1))) {
    return fail("a bad port");
  }
  return Ok{};
}

Result<std::optional<std::string>> device_origin(const http::Request& request) {
  using Out = std::optional<std::string>;
  const auto header = request.headers.get("Link");
  if (!header) return Out{};
  // RFC 8288 3: link-value *( "," link-value ); each "<" URI ">" *( ";" param ).
  std::string_view rest = *header;
  while (!rest.empty()) {
    const auto open = rest.find('<');
    const auto close = rest.find('>', open == std::string_view::npos ? 0 : open);
    if (open == std::string_view::npos || close == std::string_view::npos) break;
    const std::string_view target = rest.substr(open + 1, close - open - 1);
    rest = rest.substr(close + 1);
    const auto next = rest.find('<');
    const std::string_view params = rest.substr(0, next);
    rest = next == std::string_view::npos ? std::string_view{} : rest.substr(next);
    const auto rel = params.find("rel=");
    if (rel == std::string_view::npos) continue;
    std::string_view value = params.substr(rel + 4);
    const bool quoted = !value.empty() && value.front() == '"';
    if (quoted) value.remove_prefix(1);
    value = value.substr(0, value.find_first_of(quoted ? "\"" : ";, "));
    // rel may hold several relation types, separated by spaces.
    bool ours = false;
    while (!value.empty()) {
      const auto space = value.find(' ');
      ours |= value.substr(0, space) == kDeviceRelation;
      value = space == std::string_view::npos ? std::string_view{} : value.substr(space + 1);
    }
    if (!ours) continue;
    if (auto ok = check_origin(target); !ok) {
      return reject(status::kBadRequest, "Link rel=\"lwm2m-device\": " + ok.error().reason);
    }
    return Out{std::string(target)};
  }
  return Out{};
}

void announce_device_origin(http::Request& request, const std::string& origin) {
  request.headers.set("Link", "<" + origin + ">; rel=\"" + kDeviceRelation + "\"");
}

}  // namespace tether::binding::http_binding
