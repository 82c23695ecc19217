#include "binding/mqtt/uplink_mapping.hpp"

#include <vector>

#include "binding/mqtt/downlink_mapping.hpp"
#include "lwm2m/format/link_format.hpp"

namespace tether::binding::mqtt {

namespace {
using lwm2m::reject;
namespace status = lwm2m::status;
namespace link_format = lwm2m::format::link_format;

// The registration parameters as the query items the shared parser checks (lifetime range,
// version, binding letters, repeats), so MQTT and CoAP refuse the same things.
std::vector<std::string> queries_of(const Payload& p) {
  std::vector<std::string> q;
  if (p.lifetime) q.push_back("lt=" + std::to_string(*p.lifetime));
  if (p.version) q.push_back("lwm2m=" + *p.version);
  if (p.binding) q.push_back("b=" + *p.binding);
  if (p.sms) q.push_back("sms=" + *p.sms);
  if (p.profile_id) q.push_back("pid=" + *p.profile_id);
  if (p.queue_mode == true) q.emplace_back("Q");
  return q;
}

Result<link_format::RegistrationPayload> objects_of(const Payload& p) {
  if (p.content_type && *p.content_type != 40) {
    return reject(status::kBadRequest, "the object list must be application/link-format");
  }
  const std::string text = p.payload ? std::string(p.payload->begin(), p.payload->end()) : "";
  auto objects = link_format::parse_registration(text);
  if (!objects) return reject(status::kBadRequest, "object list: " + objects.error().reason);
  return objects;
}

// 8.2: the topic names the endpoint; an `ep` in the map must agree with it.
Result<Ok> same_endpoint(const Topic& topic, const Payload& p) {
  if (p.endpoint && *p.endpoint != topic.endpoint) {
    return reject(status::kBadRequest, "the ep in the message is not the topic's endpoint");
  }
  return Ok{};
}

void put_params(const lwm2m::RegistrationParams& params, Payload& p) {
  if (params.lifetime) p.lifetime = *params.lifetime;
  p.version = params.version;
  p.binding = params.binding;
  if (params.queue_mode) p.queue_mode = true;
  p.sms = params.sms;
  p.profile_id = params.profile_id;
}

}  // namespace

Result<ClientMessage> decode_uplink(const Topic& topic, const Payload& m) {
  if (!m.token) return reject(status::kBadRequest, "a message without a token");
  if (!m.operation || m.result) return fail(kNotAClientOperation);
  if (auto ok = same_endpoint(topic, m); !ok) return ok.error();
  ClientMessage out{topic.endpoint, *m.token, lwm2m::BootstrapRequest{}};
  const std::uint64_t op = *m.operation;
  if (topic.interface == Interface::kBootstrap) {
    if (op == opcode::kBootstrapRequest) {
      lwm2m::BootstrapRequest r;
      r.endpoint = topic.endpoint;
      if (m.preferred_content_format) {
        if (*m.preferred_content_format > 0xffff) return reject(status::kBadRequest, "pct");
        r.preferred_format = static_cast<std::uint16_t>(*m.preferred_content_format);
      }
      out.request = r;
      return out;
    }
    if (op == opcode::kBootstrapPackRequest) {
      out.request = lwm2m::BootstrapPackRequest{topic.endpoint, std::nullopt};
      return out;
    }
    if (op <= opcode::kBootstrapFinish) return fail(kNotAClientOperation);
    return reject(status::kBadRequest, "unknown bootstrap operation " + std::to_string(op));
  }
  switch (op) {
    case opcode::kRegister: {
      auto params = lwm2m::parse_registration_params(queries_of(m), "ep,lt,lwm2m,b,Q,sms,pid");
      if (!params) return params.error();
      params->endpoint = topic.endpoint;
      auto objects = objects_of(m);
      if (!objects) return objects.error();
      out.request = lwm2m::RegisterRequest{std::move(*params), std::move(*objects)};
      return out;
    }
    case opcode::kUpdate: {
      auto params = lwm2m::parse_registration_params(queries_of(m), "lt,b,Q,sms,pid");
      if (!params) return params.error();
      lwm2m::UpdateRequest update{std::string{}, std::move(*params), std::nullopt};
      if (m.payload) {
        auto objects = objects_of(m);
        if (!objects) return objects.error();
        update.objects = std::move(*objects);
      }
      out.request = std::move(update);
      return out;
    }
    case opcode::kDeregister:
      out.request = lwm2m::DeregisterRequest{std::string{}};
      return out;
    case opcode::kSend:
      if (!m.content_type || *m.content_type > 0xffff || !m.payload) {
        return reject(status::kBadRequest, "Send needs ct and payload");
      }
      out.request = SendRequest{static_cast<std::uint16_t>(*m.content_type), *m.payload};
      return out;
    case opcode::kNotify:
      return fail("a Notify belongs to its observation's exchange");
    default:
      if (op >= opcode::kRead && op <= opcode::kCancelObserve) return fail(kNotAClientOperation);
      return reject(status::kBadRequest, "unknown operation " + std::to_string(op));
  }
}

Payload encode_register(const lwm2m::RegisterRequest& request, std::uint64_t token) {
  Payload p;
  p.operation = opcode::kRegister;
  p.token = token;
  put_params(request.params, p);
  p.content_type = 40;
  p.payload = to_bytes(link_format::serialize_registration(request.objects));
  return p;
}

Payload encode_update(const lwm2m::UpdateRequest& request, std::uint64_t token) {
  Payload p;
  p.operation = opcode::kUpdate;
  p.token = token;
  put_params(request.params, p);
  if (request.objects) {
    p.content_type = 40;
    p.payload = to_bytes(link_format::serialize_registration(*request.objects));
  }
  return p;
}

Payload encode_deregister(std::uint64_t token) {
  Payload p;
  p.operation = opcode::kDeregister;
  p.token = token;
  return p;
}

Payload encode_send(const SendRequest& request, std::uint64_t token) {
  Payload p;
  p.operation = opcode::kSend;
  p.token = token;
  p.content_type = request.content_format;
  p.payload = request.payload;
  return p;
}

Payload encode_bootstrap_request(const lwm2m::BootstrapRequest& request, std::uint64_t token) {
  Payload p;
  p.operation = opcode::kBootstrapRequest;
  p.token = token;
  if (request.preferred_format) p.preferred_content_format = *request.preferred_format;
  return p;
}

Payload encode_bootstrap_pack_request(const lwm2m::BootstrapPackRequest& request,
                                      std::uint64_t token) {
  Payload p;
  p.operation = opcode::kBootstrapPackRequest;
  p.token = token;
  if (request.accept) p.preferred_content_format = *request.accept;
  return p;
}

Payload encode_answer(lwm2m::Status code, std::uint64_t token,
                      std::optional<std::uint16_t> content_format, std::optional<Bytes> body) {
  Payload p;
  p.result = result_of(code);
  p.token = token;
  if (content_format) p.content_type = *content_format;
  p.payload = std::move(body);
  return p;
}

Payload encode_uplink_answer(const lwm2m::UplinkAnswer& answer, std::uint64_t token) {
  const bool success = answer.code.is_success();
  std::optional<Bytes> body;
  if (success && !answer.body.empty()) body = answer.body;
  return encode_answer(answer.code, token, success ? answer.content_format : std::nullopt,
                       std::move(body));
}

Result<lwm2m::UplinkAnswer> decode_uplink_answer(const Payload& answer) {
  if (!answer.result || answer.operation) return fail("not a response (8.4)");
  auto code = status_of_result(*answer.result);
  if (!code) return code.error();
  lwm2m::UplinkAnswer out;
  out.code = *code;
  if (answer.content_type) {
    if (*answer.content_type > 0xffff) return fail("a content format beyond 65535");
    out.content_format = static_cast<std::uint16_t>(*answer.content_type);
  }
  if (answer.payload) out.body = *answer.payload;
  return out;
}

}  // namespace tether::binding::mqtt
