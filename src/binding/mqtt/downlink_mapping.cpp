#include "binding/mqtt/downlink_mapping.hpp"

#include "lwm2m/attributes.hpp"
#include "lwm2m/format/codec.hpp"
#include "lwm2m/operation/answer_body.hpp"

namespace tether::binding::mqtt {

namespace {
using lwm2m::Operation;
using lwm2m::format::ContentFormat;
namespace fmt = lwm2m::format;

Error bad_request(const std::string& why) {
  return lwm2m::reject(lwm2m::status::kBadRequest, why);
}

// Write-Attributes (8.3.3): each attribute under its own key; no way to unset one.
Result<Ok> put_attributes(const std::vector<std::string>& query, Payload& p) {
  auto update = lwm2m::parse_update(query);
  if (!update) return update.error();
  if (!update->unset.empty()) {
    return bad_request("the MQTT binding cannot unset an attribute (no key for it in 8.3.3)");
  }
  const auto& a = update->set;
  auto whole = [&](lwm2m::Attribute at, std::optional<std::uint64_t>& into) {
    if (auto v = a.get(at)) into = static_cast<std::uint64_t>(*v);
  };
  whole(lwm2m::Attribute::kPmin, p.pmin);
  whole(lwm2m::Attribute::kPmax, p.pmax);
  whole(lwm2m::Attribute::kEpmin, p.epmin);
  whole(lwm2m::Attribute::kEpmax, p.epmax);
  whole(lwm2m::Attribute::kHqmax, p.hqmax);
  if (auto v = a.get(lwm2m::Attribute::kEdge)) p.edge = *v != 0;
  p.gt = a.get(lwm2m::Attribute::kGt);
  p.lt = a.get(lwm2m::Attribute::kLt);
  p.st = a.get(lwm2m::Attribute::kSt);
  if (a.has(lwm2m::Attribute::kCon)) {
    return bad_request("the MQTT binding has no key for the con attribute");
  }
  return Ok{};
}

Result<Payload> with_body(Payload p, ContentFormat format, Result<Bytes> body) {
  if (!body) return body.error();
  p.content_type = static_cast<std::uint16_t>(format);
  p.payload = std::move(*body);
  return p;
}

}  // namespace

Result<Payload> encode_downlink(const lwm2m::DownlinkRequest& r, std::uint64_t token,
                                const lwm2m::model::Model& model) {
  Payload p;
  p.token = token;
  const std::string uri = r.path.to_string();
  auto need_format = [&]() -> Result<ContentFormat> {
    if (!r.format) return fail("no content format chosen for the body");
    return *r.format;
  };
  // Most operations name one target and nothing else.
  auto at_uri = [&](std::uint64_t code) {
    p.operation = code;
    p.uri = uri;
    return p;
  };
  switch (r.op) {
    case Operation::kRead:
      return at_uri(opcode::kRead);
    case Operation::kBootstrapRead:
      return at_uri(opcode::kBootstrapRead);
    case Operation::kObserve:
      if (!r.attributes.empty()) {
        return bad_request("an MQTT Observe carries no attributes (8.3.4): write them first");
      }
      return at_uri(opcode::kObserve);
    case Operation::kDiscover:
      if (r.depth) p.depth = *r.depth;
      return at_uri(opcode::kDiscover);
    case Operation::kBootstrapDiscover:
      return at_uri(opcode::kBootstrapDiscover);
    case Operation::kWrite:
    case Operation::kBootstrapWrite:
    case Operation::kCreate: {
      auto f = need_format();
      if (!f) return f.error();
      p.operation = r.op == Operation::kCreate           ? opcode::kCreate
                    : r.op == Operation::kBootstrapWrite ? opcode::kBootstrapWrite
                    : r.partial                          ? opcode::kWritePartialUpdate
                                                         : opcode::kWriteReplace;
      // Create names the Object; the instance, when chosen, is inside the body.
      p.uri = r.op == Operation::kCreate ? lwm2m::Path{r.path.object_id()}.to_string() : uri;
      return with_body(std::move(p), *f, fmt::encode(*f, r.path, r.content, model));
    }
    case Operation::kWriteAttributes:
      if (auto ok = put_attributes(r.attributes, p); !ok) return ok.error();
      return at_uri(opcode::kWriteAttributes);
    case Operation::kExecute:
      if (!r.arguments.empty()) p.payload = to_bytes(r.arguments);
      return at_uri(opcode::kExecute);
    case Operation::kDelete:
      return at_uri(opcode::kDelete);
    case Operation::kBootstrapDelete:
      return at_uri(opcode::kBootstrapDelete);
    case Operation::kReadComposite:
    case Operation::kObserveComposite: {
      if (r.op == Operation::kObserveComposite && !r.attributes.empty()) {
        return bad_request("an MQTT Observe-Composite carries no attributes (8.3.4)");
      }
      p.operation =
          r.op == Operation::kReadComposite ? opcode::kReadComposite : opcode::kObserveComposite;
      // 8.3.3: the paths in SenML-ETCH CBOR.
      auto paths = fmt::encode_paths(ContentFormat::kSenmlEtchCbor, r.paths);
      if (!paths) return paths.error();
      p.paths = std::move(*paths);
      return p;
    }
    case Operation::kWriteComposite: {
      auto f = need_format();
      if (!f) return f.error();
      p.operation = opcode::kWriteComposite;
      return with_body(std::move(p), *f, fmt::encode_records(*f, r.records, model));
    }
    case Operation::kBootstrapFinish:
      p.operation = opcode::kBootstrapFinish;
      return p;
  }
  return fail("unknown operation");
}

std::uint64_t result_of(lwm2m::Status status) {
  return static_cast<std::uint64_t>(status.code_class()) * 100 +
         static_cast<std::uint64_t>(status.detail());
}

Result<lwm2m::Status> status_of_result(std::uint64_t result) {
  const std::uint64_t cls = result / 100;
  const std::uint64_t detail = result % 100;
  // 8.5 names results of classes 2, 4 and 5 only; a detail fits CoAP's five bits.
  if ((cls != 2 && cls != 4 && cls != 5) || detail > 31) {
    return fail("result " + std::to_string(result) + " names no LwM2M response code");
  }
  return lwm2m::Status(static_cast<int>(cls), static_cast<int>(detail));
}

Result<lwm2m::DownlinkResponse> decode_downlink_response(const lwm2m::DownlinkRequest& request,
                                                         const Payload& answer,
                                                         const lwm2m::model::Model& model) {
  lwm2m::DownlinkResponse out;
  if (answer.operation == opcode::kNotify && !answer.result) {
    out.code = lwm2m::status::kContent;
  } else if (answer.result && !answer.operation) {
    auto code = status_of_result(*answer.result);
    if (!code) return code.error();
    out.code = *code;
  } else {
    return fail("neither a response (result) nor a Notify");
  }
  out.payload = answer.payload.value_or(Bytes{});
  // There is no Location in MQTT: a created instance is the one the request's body named.
  if (request.op == Operation::kCreate && out.code == lwm2m::status::kCreated) {
    if (const auto* object = request.content.objects.find(request.path.object_id());
        object != nullptr && object->instances.size() == 1 &&
        object->instances.begin()->first != lwm2m::Path::kUnassigned) {
      out.created = lwm2m::Path{request.path.object_id(), object->instances.begin()->first};
    }
  }
  if (!out.code.is_success() || !answer.content_type || !answer.payload) return out;
  lwm2m::decode_answer_body(request, static_cast<std::uint16_t>(*answer.content_type),
                            *answer.payload, model, out);
  return out;
}

}  // namespace tether::binding::mqtt
