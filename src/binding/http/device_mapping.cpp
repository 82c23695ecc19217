#include "binding/http/device_mapping.hpp"

#include "binding/http/http_status.hpp"
#include "binding/http/media_type.hpp"
#include "binding/http/request_parts.hpp"
#include "common/text.hpp"
#include "lwm2m/format/codec.hpp"

namespace tether::binding::http_binding {

namespace {
using lwm2m::DownlinkRequest;
using lwm2m::Operation;
using lwm2m::Path;
using lwm2m::reject;
namespace status = lwm2m::status;
namespace fmt = lwm2m::format;

constexpr std::uint16_t kLinkFormat = 40;
constexpr std::uint16_t kText = 0;

// Write and Create bodies decode against the target path.
Result<Ok> read_body(const http::Request& m, const lwm2m::model::Model& model, DownlinkRequest& r) {
  auto number = body_format(m.headers);
  if (!number) return number.error();
  if (!*number) return reject(status::kBadRequest, "a body needs a Content-Type");
  const auto f = fmt::content_format_from(**number);
  if (!f || *f == fmt::ContentFormat::kLinkFormat) {
    return reject(status::kUnsupportedContentFormat,
                  "Content-Type " + std::string(m.headers.get("Content-Type").value_or("")));
  }
  auto tree = fmt::decode(*f, r.path, to_bytes(m.body), model);
  if (!tree) return reject(status::kBadRequest, tree.error().reason);
  r.format = *f;
  r.content = std::move(*tree);
  return Ok{};
}

Result<DownlinkRequest> decode_get(const http::Request& m, bool bootstrap, DownlinkRequest r) {
  auto accept = accepted_format(m.headers.get("Accept"));
  if (!accept) return accept.error();
  auto queries = query_strings(m);
  if (!queries) return queries.error();
  if (*accept == kLinkFormat) {
    r.op = bootstrap ? Operation::kBootstrapDiscover : Operation::kDiscover;
    for (const auto& q : *queries) {
      if (!q.starts_with("depth=")) return reject(status::kBadRequest, "Discover takes depth only");
      auto depth = lwm2m::parse_id(std::string_view(q).substr(6));
      if (!depth || *depth > 3) return reject(status::kBadRequest, "depth is 0 to 3");
      r.depth = *depth;
    }
    return r;
  }
  if (!queries->empty()) return reject(status::kBadRequest, "Read takes no parameters");
  if (*accept) {
    const auto f = fmt::content_format_from(**accept);
    if (!f) return reject(status::kNotAcceptable, "Accept " + std::to_string(**accept));
    r.format = *f;
  }
  r.op = bootstrap ? Operation::kBootstrapRead : Operation::kRead;
  return r;
}

bool multiple_resource(const Path& path, const lwm2m::model::Model& model) {
  const auto* def = model.resource(path.object_id(), path.resource_id());
  return def != nullptr && def->multiple && !def->executable();
}

Result<DownlinkRequest> decode_post(const http::Request& m, const lwm2m::model::Model& model,
                                    DownlinkRequest r) {
  const bool typed = m.headers.has("Content-Type");
  if (r.path.is_resource() && typed && multiple_resource(r.path, model)) {
    // Table 7.1.4-1: a POST to a multiple-instance resource with a body updates it in part.
    r.op = Operation::kWrite;
    r.partial = true;
    if (auto ok = read_body(m, model, r); !ok) return ok.error();
    return r;
  }
  if (r.path.is_resource()) {
    // Execute: no body, or Core TS 5.4.5 arguments as plain text.
    auto number = body_format(m.headers);
    if (!number) return number.error();
    if (*number && **number != kText) {
      return reject(status::kUnsupportedContentFormat, "Execute arguments are text/plain");
    }
    if (auto ok = check_text(m.body, "arguments", 4096); !ok) {
      return reject(status::kBadRequest, ok.error().reason);
    }
    r.op = Operation::kExecute;
    r.arguments = m.body;
    return r;
  }
  if (r.path.is_object() || r.path.is_instance()) {
    r.op = r.path.is_object() ? Operation::kCreate : Operation::kWrite;
    r.partial = r.path.is_instance();
    if (auto ok = read_body(m, model, r); !ok) return ok.error();
    return r;
  }
  return reject(status::kMethodNotAllowed, "POST " + r.path.to_string());
}

}  // namespace

Result<DownlinkRequest> decode_device_request(const http::Request& m, bool bootstrap,
                                              const std::string& alternate_path,
                                              const lwm2m::model::Model& model) {
  if (m.method == "FETCH" || m.method == "PATCH" || m.method == "iPATCH") {
    return reject(status::kNotImplemented,
                  "the HTTP binding has no composite operations (Transport TS 7.1.4)");
  }
  std::string_view path = m.path;
  if (!bootstrap && alternate_path != "/") {
    // Transport TS 7.1.1: our objects lie under the alternate path.
    if (path != alternate_path && !path.starts_with(alternate_path + "/")) {
      return reject(status::kNotFound, "not under " + alternate_path);
    }
    path.remove_prefix(alternate_path.size());
  }
  auto segments = path_segments(path);
  if (!segments) return segments.error();
  DownlinkRequest r;
  if (bootstrap && segments->size() == 1 && (*segments)[0] == "bs") {
    if (m.method != "POST") return reject(status::kMethodNotAllowed, "/bs takes POST");
    r.op = Operation::kBootstrapFinish;
    return r;
  }
  auto target = Path::from_segments(*segments);
  if (!target) return reject(status::kNotFound, target.error().reason);
  r.path = *target;
  if (m.method == "GET") return decode_get(m, bootstrap, std::move(r));
  if (m.method == "DELETE") {
    r.op = bootstrap ? Operation::kBootstrapDelete : Operation::kDelete;
    return r;
  }
  if (m.method == "PUT") {
    if (!bootstrap && m.body.empty() && !m.headers.has("Content-Type")) {
      auto queries = query_strings(m);
      if (!queries) return queries.error();
      r.op = Operation::kWriteAttributes;
      r.attributes = std::move(*queries);
      return r;
    }
    r.op = bootstrap ? Operation::kBootstrapWrite : Operation::kWrite;
    if (auto ok = read_body(m, model, r); !ok) return ok.error();
    return r;
  }
  if (m.method == "POST" && !bootstrap) return decode_post(m, model, std::move(r));
  return reject(status::kMethodNotAllowed, printable(m.method, 16) + " " + r.path.to_string());
}

http::Response encode_device_response(const lwm2m::EncodedAnswer& answer,
                                      const std::string& alternate_path) {
  http::Response r;
  r.status = http_status_of(answer.code, !answer.body.empty());
  if (answer.created) {
    const std::string prefix = alternate_path == "/" ? std::string{} : alternate_path;
    r.headers.set("Location", prefix + answer.created->to_string());
  }
  if (!answer.body.empty()) {
    set_body(
        r.headers, r.body, answer.content_format.value_or(kText),
        std::string_view(reinterpret_cast<const char*>(answer.body.data()), answer.body.size()));
  }
  return r;
}

}  // namespace tether::binding::http_binding
