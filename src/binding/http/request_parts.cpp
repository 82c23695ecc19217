#include "binding/http/request_parts.hpp"

#include "binding/http/media_type.hpp"
#include "common/text.hpp"
#include "http/uri.hpp"
#include "lwm2m/operation/status.hpp"

namespace tether::binding::http_binding {

namespace status = lwm2m::status;
using lwm2m::reject;

Result<std::vector<std::string>> path_segments(std::string_view encoded_path) {
  std::vector<std::string> out;
  for (const auto segment : http::split_path(encoded_path)) {
    auto decoded = percent_decode(segment);
    if (!decoded) return reject(status::kBadRequest, "path: " + decoded.error().reason);
    out.push_back(std::move(*decoded));
  }
  return out;
}

Result<std::vector<std::string>> query_strings(const http::Request& request) {
  auto params = http::parse_query(request.query);
  if (!params) return reject(status::kBadRequest, "query: " + params.error().reason);
  std::vector<std::string> out;
  out.reserve(params->size());
  for (auto& p : *params) {
    if (p.name.find('=') != std::string::npos) {
      return reject(status::kBadRequest, "a query parameter name holds '='");
    }
    out.push_back(p.has_value ? p.name + "=" + p.value : p.name);
  }
  return out;
}

std::string query_of(const std::vector<std::string>& queries) {
  std::string out;
  for (const auto& q : queries) {
    if (!out.empty()) out += '&';
    const auto eq = q.find('=');
    if (eq == std::string::npos) {
      out += percent_encode(q);
    } else {
      out += percent_encode(std::string_view(q).substr(0, eq)) + "=" +
             percent_encode(std::string_view(q).substr(eq + 1));
    }
  }
  return out;
}

http::Request make_request(std::string method, std::string path, std::string query) {
  http::Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.query = std::move(query);
  r.target = r.query.empty() ? r.path : r.path + "?" + r.query;
  return r;
}

Result<std::optional<std::uint16_t>> body_format(const http::Headers& headers) {
  using Out = std::optional<std::uint16_t>;
  const auto type = headers.get("Content-Type");
  if (!type) return Out{};
  const auto number = content_format_of(*type);
  if (!number) {
    return reject(status::kUnsupportedContentFormat, "Content-Type " + printable(*type, 80));
  }
  return Out{*number};
}

void set_body(http::Headers& headers, std::string& body, std::uint16_t content_format,
              std::string_view bytes) {
  if (auto type = media_type_of(content_format)) headers.set("Content-Type", std::string(*type));
  body.assign(bytes);
}

}  // namespace tether::binding::http_binding
