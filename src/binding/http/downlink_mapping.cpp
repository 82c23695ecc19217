#include "binding/http/downlink_mapping.hpp"

#include "binding/http/http_status.hpp"
#include "binding/http/media_type.hpp"
#include "binding/http/request_parts.hpp"
#include "lwm2m/format/codec.hpp"
#include "lwm2m/operation/answer_body.hpp"

namespace tether::binding::http_binding {

namespace {
using lwm2m::Operation;
using lwm2m::reject;
namespace status = lwm2m::status;
namespace fmt = lwm2m::format;

constexpr std::uint16_t kLinkFormat = 40;

std::string under(const std::string& alternate_path, const lwm2m::Path& path) {
  const std::string prefix = alternate_path == "/" ? std::string{} : alternate_path;
  const std::string p = path.to_string();
  return prefix + (p == "/" && !prefix.empty() ? std::string{} : p);
}

void accept(http::Request& r, std::optional<fmt::ContentFormat> format) {
  if (!format) return;
  if (auto type = media_type_of(static_cast<std::uint16_t>(*format))) {
    r.headers.set("Accept", std::string(*type));
  }
}

// Where a Create's Location names the new instance: "{alt}/O/I", maybe as an absolute URI.
std::optional<lwm2m::Path> created_path(const http::Response& response,
                                        const std::string& alternate_path) {
  std::string_view location = response.headers.get("Location").value_or("");
  if (const auto scheme = location.find("://"); scheme != std::string_view::npos) {
    const auto path = location.find('/', scheme + 3);
    location = path == std::string_view::npos ? std::string_view{} : location.substr(path);
  }
  location = location.substr(0, location.find_first_of("?#"));
  if (alternate_path != "/" && location.starts_with(alternate_path + "/")) {
    location.remove_prefix(alternate_path.size());
  }
  auto segments = path_segments(location);
  if (!segments) return std::nullopt;
  auto path = lwm2m::Path::from_segments(*segments);
  if (!path || !path->is_instance()) return std::nullopt;
  return *path;
}

}  // namespace

bool carries(Operation op) {
  switch (op) {
    case Operation::kObserve:
    case Operation::kObserveComposite:
    case Operation::kReadComposite:
    case Operation::kWriteComposite:
      return false;
    default:
      return true;
  }
}

lwm2m::Status success_of(Operation op) {
  switch (op) {
    case Operation::kRead:
    case Operation::kDiscover:
    case Operation::kBootstrapRead:
    case Operation::kBootstrapDiscover:
    case Operation::kObserve:
    case Operation::kReadComposite:
    case Operation::kObserveComposite:
      return status::kContent;
    case Operation::kCreate:
      return status::kCreated;
    case Operation::kDelete:
    case Operation::kBootstrapDelete:
      return status::kDeleted;
    default:
      return status::kChanged;
  }
}

Result<http::Request> encode_downlink(const lwm2m::DownlinkRequest& r,
                                      const std::string& alternate_path,
                                      const lwm2m::model::Model& model) {
  if (!carries(r.op)) {
    return reject(status::kNotImplemented, std::string("the HTTP binding has no ") +
                                               lwm2m::operation_name(r.op) +
                                               " (Transport TS 7.1.4)");
  }
  // Transport TS 7.1.1: the Bootstrap-Server uses plain paths; the client maps them.
  const std::string target =
      lwm2m::is_bootstrap_operation(r.op) ? r.path.to_string() : under(alternate_path, r.path);
  switch (r.op) {
    case Operation::kRead:
    case Operation::kBootstrapRead: {
      auto m = make_request("GET", target);
      accept(m, r.format);
      return m;
    }
    case Operation::kDiscover:
    case Operation::kBootstrapDiscover: {
      auto m = make_request("GET", target,
                            r.depth ? "depth=" + std::to_string(*r.depth) : std::string{});
      m.headers.set("Accept", std::string(*media_type_of(kLinkFormat)));
      return m;
    }
    case Operation::kWrite:
    case Operation::kBootstrapWrite:
    case Operation::kCreate: {
      if (!r.format) return fail("no content format chosen for the body");
      auto body = fmt::encode(*r.format, r.path, r.content, model);
      if (!body) return body.error();
      // Table 7.1.4-1: PUT replaces, POST updates in part or creates.
      const bool post = r.op == Operation::kCreate || (r.op == Operation::kWrite && r.partial);
      auto m = make_request(post ? "POST" : "PUT", target);
      set_body(m.headers, m.body, static_cast<std::uint16_t>(*r.format),
               std::string_view(reinterpret_cast<const char*>(body->data()), body->size()));
      return m;
    }
    case Operation::kWriteAttributes:
      return make_request("PUT", target, query_of(r.attributes));
    case Operation::kExecute: {
      // Table 7.1.4-1 allows no Content-Type: without one, a POST to a resource is an
      // Execute whatever the resource (with text/plain, one to a multiple-instance resource
      // would read as a Partial Update).
      auto m = make_request("POST", target);
      m.body = r.arguments;
      return m;
    }
    case Operation::kDelete:
    case Operation::kBootstrapDelete:
      return make_request("DELETE", target);
    case Operation::kBootstrapFinish:
      return make_request("POST", "/bs");
    default:
      break;
  }
  return fail("unknown operation");
}

lwm2m::DownlinkResponse decode_downlink_response(const lwm2m::DownlinkRequest& request,
                                                 const http::Response& response,
                                                 const std::string& alternate_path,
                                                 const lwm2m::model::Model& model) {
  lwm2m::DownlinkResponse out;
  out.code = status_of_http(response.status, success_of(request.op));
  out.payload = to_bytes(response.body);
  if (out.code == status::kCreated) out.created = created_path(response, alternate_path);
  if (!out.code.is_success()) return out;
  auto format = body_format(response.headers);
  if (!format) {
    out.decode_error = format.error().reason;
    return out;
  }
  if (*format) lwm2m::decode_answer_body(request, **format, out.payload, model, out);
  return out;
}

}  // namespace tether::binding::http_binding
