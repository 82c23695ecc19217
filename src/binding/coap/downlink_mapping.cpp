#include "binding/coap/downlink_mapping.hpp"

#include "lwm2m/format/codec.hpp"
#include "lwm2m/operation/answer_body.hpp"

namespace tether::binding::coap_binding {

namespace {
using coap::Message;
namespace codes = coap::codes;
using lwm2m::Operation;
using lwm2m::format::ContentFormat;
namespace fmt = lwm2m::format;

std::string join(const std::string& alternate_path, const lwm2m::Path& path) {
  std::string prefix = alternate_path == "/" ? std::string{} : alternate_path;
  const std::string p = path.to_string();
  return prefix + (p == "/" && !prefix.empty() ? std::string{} : p);
}

std::uint16_t number(ContentFormat f) {
  return static_cast<std::uint16_t>(f);
}

// Composite path lists go in the ETCH flavour of the answer's SenML encoding.
ContentFormat path_list_format(std::optional<ContentFormat> answer) {
  if (answer == ContentFormat::kSenmlJson) return ContentFormat::kSenmlEtchJson;
  return ContentFormat::kSenmlEtchCbor;
}

Result<Message> with_body(Message m, ContentFormat format, Result<Bytes> body) {
  if (!body) return body.error();
  m.set_content_format(number(format));
  m.payload = std::move(*body);
  return m;
}

// Where a Location-Path of a 2.01 Created names the new instance: "/{alt}/O/I".
std::optional<lwm2m::Path> created_path(const Message& response,
                                        const std::string& alternate_path) {
  std::string location = response.location_path();
  if (alternate_path != "/" && location.starts_with(alternate_path + "/")) {
    location.erase(0, alternate_path.size());
  }
  auto path = lwm2m::Path::parse(location);
  if (!path || !path->is_instance()) return std::nullopt;
  return *path;
}

}  // namespace

Result<Message> encode_downlink(const lwm2m::DownlinkRequest& r, const std::string& alternate_path,
                                const lwm2m::model::Model& model) {
  const std::string target = join(alternate_path, r.path);
  const std::string root = alternate_path == "/" ? "/" : alternate_path;
  auto need_format = [&]() -> Result<ContentFormat> {
    if (!r.format) return fail("no content format chosen for the body");
    return *r.format;
  };
  switch (r.op) {
    case Operation::kRead:
    case Operation::kBootstrapRead:
    case Operation::kObserve: {
      Message m = coap::make_request(codes::kGet, target);
      if (r.op == Operation::kObserve) {
        m.set_observe(0);
        for (const auto& a : r.attributes) m.add_query(a);
      }
      if (r.format) m.options.set_uint(coap::option::kAccept, number(*r.format));
      return m;
    }
    case Operation::kDiscover:
    case Operation::kBootstrapDiscover: {
      Message m = coap::make_request(codes::kGet, target);
      m.options.set_uint(coap::option::kAccept, coap::content_format::kLinkFormat);
      if (r.depth) m.add_query("depth=" + std::to_string(*r.depth));
      return m;
    }
    case Operation::kWrite:
    case Operation::kBootstrapWrite:
    case Operation::kCreate: {
      auto f = need_format();
      if (!f) return f.error();
      const bool post = r.op == Operation::kCreate || (r.op == Operation::kWrite && r.partial);
      const auto method = post ? codes::kPost : codes::kPut;
      return with_body(coap::make_request(method, target), *f,
                       fmt::encode(*f, r.path, r.content, model));
    }
    case Operation::kWriteAttributes: {
      Message m = coap::make_request(codes::kPut, target);
      for (const auto& a : r.attributes) m.add_query(a);
      return m;
    }
    case Operation::kExecute: {
      Message m = coap::make_request(codes::kPost, target);
      if (!r.arguments.empty()) {
        m.set_content_format(coap::content_format::kTextPlain);
        m.payload = to_bytes(r.arguments);
      }
      return m;
    }
    case Operation::kDelete:
    case Operation::kBootstrapDelete:
      return coap::make_request(codes::kDelete, target);
    case Operation::kReadComposite:
    case Operation::kObserveComposite: {
      Message m = coap::make_request(codes::kFetch, root);
      if (r.op == Operation::kObserveComposite) {
        m.set_observe(0);
        for (const auto& a : r.attributes) m.add_query(a);
      }
      if (r.format) m.options.set_uint(coap::option::kAccept, number(*r.format));
      const ContentFormat list = path_list_format(r.format);
      return with_body(std::move(m), list, fmt::encode_paths(list, r.paths));
    }
    case Operation::kWriteComposite: {
      auto f = need_format();
      if (!f) return f.error();
      return with_body(coap::make_request(codes::kIPatch, root), *f,
                       fmt::encode_records(*f, r.records, model));
    }
    case Operation::kBootstrapFinish:
      return coap::make_request(codes::kPost, "/bs");
  }
  return fail("unknown operation");
}

lwm2m::DownlinkResponse decode_downlink_response(const lwm2m::DownlinkRequest& request,
                                                 const Message& response,
                                                 const std::string& alternate_path,
                                                 const lwm2m::model::Model& model) {
  lwm2m::DownlinkResponse out;
  out.code = response.code;
  out.payload = response.payload;
  out.observe = response.observe();
  if (response.code == codes::kCreated) out.created = created_path(response, alternate_path);
  const auto cf = response.content_format();
  if (!cf || !response.code.is_success()) return out;
  lwm2m::decode_answer_body(request, *cf, response.payload, model, out);
  return out;
}

}  // namespace tether::binding::coap_binding
