#include "binding/coap/uplink_mapping.hpp"

#include "common/text.hpp"
#include "lwm2m/operation/status.hpp"

namespace tether::binding::coap_binding {

namespace {
using coap::Message;
namespace codes = coap::codes;
using lwm2m::reject;
namespace status = lwm2m::status;
namespace link_format = lwm2m::format::link_format;

Result<link_format::RegistrationPayload> decode_objects(const Message& m) {
  const auto cf = m.content_format();
  if (cf && *cf != coap::content_format::kLinkFormat) {
    return reject(status::kBadRequest, "the object list must be application/link-format");
  }
  const std::string text(m.payload.begin(), m.payload.end());
  auto objects = link_format::parse_registration(text);
  if (!objects) return reject(status::kBadRequest, "object list: " + objects.error().reason);
  return objects;
}

std::vector<std::string> uri_path(const Message& m) {
  return m.options.strings(coap::option::kUriPath);
}

Message with_objects(Message m, const link_format::RegistrationPayload& objects) {
  m.set_content_format(coap::content_format::kLinkFormat);
  m.payload = to_bytes(link_format::serialize_registration(objects));
  return m;
}

}  // namespace

Result<Uplink> decode_uplink(const Message& request) {
  const auto segments = uri_path(request);
  if (segments.empty() || (segments[0] != kRegistrationRoot && segments[0] != kSendRoot)) {
    return reject(status::kNotFound, "no such resource " + printable(request.path(), 64));
  }
  if (segments[0] == kSendRoot) {
    if (segments.size() != 1)
      return reject(status::kNotFound, "no such resource " + printable(request.path(), 64));
    if (request.code != codes::kPost) return reject(status::kMethodNotAllowed, "Send is a POST");
    const auto cf = request.content_format();
    if (!cf) return reject(status::kBadRequest, "Send needs a Content-Format");
    return Uplink{SendRequest{*cf, request.payload}};
  }
  if (segments.size() == 1) {
    if (request.code != codes::kPost) {
      return reject(status::kMethodNotAllowed, "Register is a POST to /rd");
    }
    auto params = lwm2m::parse_registration_params(request.queries(), "ep,lt,lwm2m,b,Q,sms,pid");
    if (!params) return params.error();
    auto objects = decode_objects(request);
    if (!objects) return objects.error();
    return Uplink{lwm2m::RegisterRequest{std::move(*params), std::move(*objects)}};
  }
  if (segments.size() != 2) return reject(status::kNotFound, "no such registration");
  const std::string& location = segments[1];
  if (request.code == codes::kDelete) {
    if (!request.queries().empty()) {
      return reject(status::kBadRequest, "De-register takes no parameters");
    }
    return Uplink{lwm2m::DeregisterRequest{location}};
  }
  if (request.code != codes::kPost) {
    return reject(status::kMethodNotAllowed, "Update is a POST, De-register a DELETE");
  }
  auto params = lwm2m::parse_registration_params(request.queries(), "lt,b,Q,sms,pid");
  if (!params) return params.error();
  lwm2m::UpdateRequest update{location, std::move(*params), std::nullopt};
  if (!request.payload.empty()) {
    auto objects = decode_objects(request);
    if (!objects) return objects.error();
    update.objects = std::move(*objects);
  }
  return Uplink{std::move(update)};
}

Message encode_uplink_answer(ByteView token, const lwm2m::UplinkAnswer& answer) {
  Message m;
  m.code = answer.code;
  m.token.assign(token.begin(), token.end());
  if (!answer.location.empty()) {
    m.options.add(coap::option::kLocationPath, kRegistrationRoot);
    m.options.add(coap::option::kLocationPath, answer.location);
  }
  if (answer.content_format) m.set_content_format(*answer.content_format);
  if (answer.retry_after) m.options.set_uint(coap::option::kMaxAge, *answer.retry_after);
  m.payload = answer.body;
  return m;
}

Message encode_register(const lwm2m::RegisterRequest& request) {
  Message m = coap::make_request(codes::kPost, std::string("/") + kRegistrationRoot);
  for (const auto& q : lwm2m::to_queries(request.params)) m.add_query(q);
  return with_objects(std::move(m), request.objects);
}

Message encode_update(const lwm2m::UpdateRequest& request) {
  Message m = coap::make_request(codes::kPost,
                                 std::string("/") + kRegistrationRoot + "/" + request.location);
  for (const auto& q : lwm2m::to_queries(request.params)) m.add_query(q);
  if (request.objects) m = with_objects(std::move(m), *request.objects);
  return m;
}

Message encode_deregister(const lwm2m::DeregisterRequest& request) {
  return coap::make_request(codes::kDelete,
                            std::string("/") + kRegistrationRoot + "/" + request.location);
}

Message encode_send(const lwm2m::SendRequest& request) {
  Message m = coap::make_request(codes::kPost, std::string("/") + kSendRoot);
  m.set_content_format(request.content_format);
  m.payload = request.payload;
  return m;
}

lwm2m::UplinkAnswer decode_uplink_answer(const Message& response) {
  lwm2m::UplinkAnswer a;
  a.code = response.code;
  if (response.code == codes::kCreated) {
    // Transport TS 6.4.3: the location is /rd/{id}; Update and De-register name the id.
    a.location = response.location_path();
    const std::string root = std::string("/") + kRegistrationRoot + "/";
    if (a.location.starts_with(root)) a.location.erase(0, root.size());
  }
  a.content_format = response.content_format();
  // RFC 7252 5.9.3.4: a 5.03's Max-Age says when to try again.
  if (response.code == codes::kServiceUnavailable) {
    if (auto age = response.options.get_uint(coap::option::kMaxAge)) {
      a.retry_after = static_cast<std::uint32_t>(*age);
    }
  }
  a.body = response.payload;
  return a;
}

}  // namespace tether::binding::coap_binding
