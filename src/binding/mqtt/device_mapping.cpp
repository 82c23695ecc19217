#include "binding/mqtt/device_mapping.hpp"

#include "binding/mqtt/downlink_mapping.hpp"
#include "binding/mqtt/uplink_mapping.hpp"
#include "lwm2m/format/codec.hpp"
#include "lwm2m/value.hpp"

namespace tether::binding::mqtt {

namespace {
using lwm2m::DownlinkRequest;
using lwm2m::Operation;
using lwm2m::format::ContentFormat;
namespace fmt = lwm2m::format;
namespace status = lwm2m::status;

Result<lwm2m::Path> path_of(const Payload& p, bool root_allowed) {
  if (!p.uri) {
    if (root_allowed) return lwm2m::Path{};
    return lwm2m::reject(status::kBadRequest, "the request names no uri");
  }
  auto path = lwm2m::Path::parse(*p.uri);
  if (!path) return lwm2m::reject(status::kBadRequest, "uri: " + path.error().reason);
  if (path->is_root() && !root_allowed) {
    return lwm2m::reject(status::kBadRequest, "the uri names no object");
  }
  return *path;
}

Result<ContentFormat> body_format(const Payload& p) {
  if (!p.content_type || !p.payload) {
    return lwm2m::reject(status::kBadRequest, "a body needs ct and payload");
  }
  const auto f = *p.content_type <= 0xffff
                     ? fmt::content_format_from(static_cast<std::uint16_t>(*p.content_type))
                     : std::nullopt;
  if (!f) {
    return lwm2m::reject(status::kUnsupportedContentFormat,
                         "content format " + std::to_string(*p.content_type));
  }
  return *f;
}

Result<Ok> read_body(const Payload& p, const lwm2m::model::Model& model, DownlinkRequest& r) {
  auto f = body_format(p);
  if (!f) return f.error();
  auto tree = fmt::decode(*f, r.path, *p.payload, model);
  if (!tree) return lwm2m::reject(status::kBadRequest, tree.error().reason);
  r.format = *f;
  r.content = std::move(*tree);
  return Ok{};
}

// 8.3.3: each Write-Attributes parameter under its own key, back to "pmin=10" form.
std::vector<std::string> attributes_of(const Payload& p) {
  std::vector<std::string> out;
  auto whole = [&](const char* name, const std::optional<std::uint64_t>& v) {
    if (v) out.push_back(std::string(name) + "=" + std::to_string(*v));
  };
  auto real = [&](const char* name, const std::optional<double>& v) {
    if (v) out.push_back(std::string(name) + "=" + lwm2m::to_text(lwm2m::Value(*v)));
  };
  whole("pmin", p.pmin);
  whole("pmax", p.pmax);
  real("gt", p.gt);
  real("lt", p.lt);
  real("st", p.st);
  whole("epmin", p.epmin);
  whole("epmax", p.epmax);
  if (p.edge) out.push_back(std::string("edge=") + (*p.edge ? "1" : "0"));
  whole("hqmax", p.hqmax);
  return out;
}

Result<DownlinkRequest> decode_bootstrap(const Payload& p, const lwm2m::model::Model& model) {
  DownlinkRequest r;
  switch (*p.operation) {
    case opcode::kBootstrapWrite: {
      r.op = Operation::kBootstrapWrite;
      auto path = path_of(p, false);
      if (!path) return path.error();
      r.path = *path;
      if (auto ok = read_body(p, model, r); !ok) return ok.error();
      return r;
    }
    case opcode::kBootstrapRead:
    case opcode::kBootstrapDelete:
    case opcode::kBootstrapDiscover: {
      r.op = *p.operation == opcode::kBootstrapRead     ? Operation::kBootstrapRead
             : *p.operation == opcode::kBootstrapDelete ? Operation::kBootstrapDelete
                                                        : Operation::kBootstrapDiscover;
      // Bootstrap-Delete and -Discover may name "/" (or nothing: all).
      auto path = path_of(p, r.op != Operation::kBootstrapRead);
      if (!path) return path.error();
      r.path = *path;
      return r;
    }
    case opcode::kBootstrapFinish:
      r.op = Operation::kBootstrapFinish;
      return r;
    default:
      return lwm2m::reject(status::kBadRequest,
                           "unknown bootstrap operation " + std::to_string(*p.operation));
  }
}
}  // namespace

Result<DownlinkRequest> decode_device_request(const Topic& topic, const Payload& p,
                                              const lwm2m::model::Model& model) {
  if (!p.operation) return lwm2m::reject(status::kBadRequest, "no operation");
  if (topic.interface == Interface::kBootstrap) return decode_bootstrap(p, model);
  DownlinkRequest r;
  auto target = [&](bool root_allowed) -> Result<Ok> {
    auto path = path_of(p, root_allowed);
    if (!path) return path.error();
    r.path = *path;
    return Ok{};
  };
  auto composite_paths = [&]() -> Result<Ok> {
    if (!p.paths) return lwm2m::reject(status::kBadRequest, "a composite operation needs paths");
    auto paths = fmt::decode_paths(ContentFormat::kSenmlEtchCbor, *p.paths);
    if (!paths) return lwm2m::reject(status::kBadRequest, "paths: " + paths.error().reason);
    r.paths = std::move(*paths);
    return Ok{};
  };
  Result<Ok> ok = Ok{};
  switch (*p.operation) {
    case opcode::kRead:
    case opcode::kObserve:
      r.op = *p.operation == opcode::kRead ? Operation::kRead : Operation::kObserve;
      ok = target(false);
      if (ok && p.preferred_content_format && *p.preferred_content_format <= 0xffff) {
        r.format =
            fmt::content_format_from(static_cast<std::uint16_t>(*p.preferred_content_format));
      }
      break;
    case opcode::kReadComposite:
    case opcode::kObserveComposite:
      r.op = *p.operation == opcode::kReadComposite ? Operation::kReadComposite
                                                    : Operation::kObserveComposite;
      ok = composite_paths();
      // The client answers composite reads in a format for records.
      r.format = ContentFormat::kSenmlCbor;
      if (p.preferred_content_format && *p.preferred_content_format <= 0xffff) {
        if (auto f =
                fmt::content_format_from(static_cast<std::uint16_t>(*p.preferred_content_format))) {
          r.format = f;
        }
      }
      break;
    case opcode::kDiscover:
      r.op = Operation::kDiscover;
      ok = target(false);
      if (p.depth) r.depth = static_cast<std::uint32_t>(*p.depth);
      break;
    case opcode::kWriteReplace:
    case opcode::kWritePartialUpdate:
      r.op = Operation::kWrite;
      r.partial = *p.operation == opcode::kWritePartialUpdate;
      ok = target(false);
      if (ok) ok = read_body(p, model, r);
      break;
    case opcode::kWriteAttributes:
      r.op = Operation::kWriteAttributes;
      ok = target(false);
      r.attributes = attributes_of(p);
      break;
    case opcode::kWriteComposite: {
      r.op = Operation::kWriteComposite;
      auto f = body_format(p);
      if (!f) return f.error();
      auto records = fmt::decode_records(*f, *p.payload, model);
      if (!records) return lwm2m::reject(status::kBadRequest, records.error().reason);
      r.format = *f;
      r.records = std::move(*records);
      break;
    }
    case opcode::kExecute:
      r.op = Operation::kExecute;
      ok = target(false);
      if (p.payload) r.arguments.assign(p.payload->begin(), p.payload->end());
      break;
    case opcode::kCreate:
      r.op = Operation::kCreate;
      ok = target(false);
      if (ok && !r.path.is_object()) {
        ok = lwm2m::reject(status::kBadRequest, "Create names an object");
      }
      if (ok) ok = read_body(p, model, r);
      break;
    case opcode::kDelete:
      r.op = Operation::kDelete;
      ok = target(false);
      break;
    default:
      return lwm2m::reject(status::kBadRequest,
                           "unknown operation " + std::to_string(*p.operation));
  }
  if (!ok) return ok.error();
  return r;
}

Payload encode_device_answer(const lwm2m::EncodedAnswer& answer) {
  // 8.4 has no diagnostic: an error's reason stays with us. The exchange sets the token.
  const bool body = answer.code.is_success() && answer.content_format;
  return encode_answer(answer.code, 0, body ? answer.content_format : std::nullopt,
                       body ? std::optional<Bytes>(answer.body) : std::nullopt);
}

Payload encode_notify(const lwm2m::EncodedAnswer& content, std::uint64_t token) {
  Payload p;
  p.operation = opcode::kNotify;
  p.token = token;
  if (content.content_format) p.content_type = *content.content_format;
  p.payload = content.body;
  return p;
}

}  // namespace tether::binding::mqtt
