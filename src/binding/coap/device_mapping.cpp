#include "binding/coap/device_mapping.hpp"

#include "lwm2m/format/codec.hpp"

namespace tether::binding::coap_binding {

namespace {
using coap::Message;
namespace codes = coap::codes;
using lwm2m::DownlinkRequest;
using lwm2m::Operation;
using lwm2m::Path;
using lwm2m::reject;
using lwm2m::format::ContentFormat;
namespace fmt = lwm2m::format;
namespace link_format = lwm2m::format::link_format;

Result<std::optional<ContentFormat>> accept_of(const Message& m) {
  const auto accept = m.options.get_uint(coap::option::kAccept);
  if (!accept) return std::optional<ContentFormat>{};
  const auto f = accept <= 0xffff ? fmt::content_format_from(static_cast<std::uint16_t>(*accept))
                                  : std::nullopt;
  if (!f) return reject(codes::kNotAcceptable, "Accept " + std::to_string(*accept));
  return std::optional<ContentFormat>(*f);
}

Result<ContentFormat> body_format(const Message& m) {
  const auto cf = m.content_format();
  if (!cf) return reject(codes::kBadRequest, "a body needs a Content-Format");
  const auto f = fmt::content_format_from(*cf);
  if (!f || *f == ContentFormat::kLinkFormat) {
    return reject(codes::kUnsupportedContentFormat, "Content-Format " + std::to_string(*cf));
  }
  return *f;
}

// Write and Create bodies decode against the target path.
Result<Ok> read_body(const Message& m, const lwm2m::model::Model& model, DownlinkRequest& r) {
  auto f = body_format(m);
  if (!f) return f.error();
  auto tree = fmt::decode(*f, r.path, m.payload, model);
  if (!tree) return reject(codes::kBadRequest, tree.error().reason);
  r.format = *f;
  r.content = std::move(*tree);
  return Ok{};
}

Result<DownlinkRequest> decode_get(const Message& m, bool bootstrap, DownlinkRequest r) {
  auto accept = accept_of(m);
  if (!accept) return accept.error();
  if (*accept == ContentFormat::kLinkFormat) {
    r.op = bootstrap ? Operation::kBootstrapDiscover : Operation::kDiscover;
    for (const auto& q : m.queries()) {
      if (!q.starts_with("depth=")) continue;
      auto depth = lwm2m::parse_id(std::string_view(q).substr(6));
      if (!depth || *depth > 3) return reject(codes::kBadRequest, "depth is 0 to 3");
      r.depth = *depth;
    }
    return r;
  }
  r.format = *accept;
  if (bootstrap) {
    r.op = Operation::kBootstrapRead;
  } else if (m.observe() == 0u) {
    r.op = Operation::kObserve;
    r.attributes = m.queries();
  } else {
    r.op = Operation::kRead;
  }
  return r;
}

bool is_partial_update_of_resource(const Message& m, const Path& path,
                                   const lwm2m::model::Model& model) {
  const auto format = m.content_format();
  if (const auto* def = model.resource(path.object_id(), path.resource_id())) {
    return def->multiple && !def->executable() && format.has_value();
  }
  return format.has_value() && *format != coap::content_format::kTextPlain;
}

Result<DownlinkRequest> decode_composite(const Message& m, const lwm2m::model::Model& model,
                                         DownlinkRequest r) {
  auto f = body_format(m);
  if (!f) return f.error();
  if (m.code == codes::kIPatch) {
    auto records = fmt::decode_records(*f, m.payload, model);
    if (!records) return reject(codes::kBadRequest, records.error().reason);
    r.op = Operation::kWriteComposite;
    r.format = *f;
    r.records = std::move(*records);
    return r;
  }
  auto paths = fmt::decode_paths(*f, m.payload);
  if (!paths) return reject(codes::kBadRequest, paths.error().reason);
  auto accept = accept_of(m);
  if (!accept) return accept.error();
  r.op = m.observe() == 0u ? Operation::kObserveComposite : Operation::kReadComposite;
  if (r.op == Operation::kObserveComposite) r.attributes = m.queries();
  r.format = *accept;
  r.paths = std::move(*paths);
  return r;
}

}  // namespace

Result<DownlinkRequest> decode_device_request(const Message& m, bool bootstrap,
                                              const lwm2m::model::Model& model) {
  const auto segments = m.options.strings(coap::option::kUriPath);
  DownlinkRequest r;
  if (segments.size() == 1 && segments[0] == "bs") {
    if (!bootstrap || m.code != codes::kPost) return reject(codes::kMethodNotAllowed, "/bs");
    r.op = Operation::kBootstrapFinish;
    return r;
  }
  auto path = Path::from_segments(segments);
  if (!path) return reject(codes::kNotFound, path.error().reason);
  r.path = *path;
  if (m.code == codes::kGet) return decode_get(m, bootstrap, std::move(r));
  if (m.code == codes::kFetch || m.code == codes::kIPatch) {
    if (bootstrap || !r.path.is_root()) {
      return reject(codes::kMethodNotAllowed, "composite operations target /");
    }
    return decode_composite(m, model, std::move(r));
  }
  if (m.code == codes::kDelete) {
    r.op = bootstrap ? Operation::kBootstrapDelete : Operation::kDelete;
    return r;
  }
  if (m.code == codes::kPut) {
    if (!bootstrap && m.payload.empty() && !m.content_format()) {
      r.op = Operation::kWriteAttributes;
      r.attributes = m.queries();
      return r;
    }
    r.op = bootstrap ? Operation::kBootstrapWrite : Operation::kWrite;
    if (auto ok = read_body(m, model, r); !ok) return ok.error();
    return r;
  }
  if (m.code == codes::kPost && !bootstrap) {
    // Transport TS Table 6.4.4-1: a POST to a multiple-instance resource with a body is a
    // Partial Update; Execute carries no Content-Format or text/plain.
    if (r.path.is_resource() && is_partial_update_of_resource(m, r.path, model)) {
      r.op = Operation::kWrite;
      r.partial = true;
      if (auto ok = read_body(m, model, r); !ok) return ok.error();
      return r;
    }
    if (r.path.is_resource()) {
      r.op = Operation::kExecute;
      r.arguments.assign(m.payload.begin(), m.payload.end());
      return r;
    }
    if (r.path.is_object() || r.path.is_instance()) {
      r.op = r.path.is_object() ? Operation::kCreate : Operation::kWrite;
      r.partial = r.path.is_instance();
      if (auto ok = read_body(m, model, r); !ok) return ok.error();
      return r;
    }
  }
  return reject(codes::kMethodNotAllowed, m.code.describe() + " " + r.path.to_string());
}

Message encode_device_response(const lwm2m::EncodedAnswer& answer) {
  Message m;
  m.code = answer.code;
  if (answer.created) {
    for (int level = 0; level < answer.created->depth(); ++level) {
      m.options.add(coap::option::kLocationPath, std::to_string((*answer.created)[level]));
    }
  }
  if (answer.content_format) m.set_content_format(*answer.content_format);
  m.payload = answer.body;
  return m;
}

Message encode_device_response(const DownlinkRequest& request,
                               const lwm2m::DownlinkResponse& response,
                               const lwm2m::model::Model& model) {
  return encode_device_response(lwm2m::encode_answer(request, response, model));
}

}  // namespace tether::binding::coap_binding
