#include "lwm2m/format/codec.hpp"

#include "lwm2m/format/lwm2m_cbor.hpp"
#include "lwm2m/format/old_json.hpp"
#include "lwm2m/format/senml_cbor.hpp"
#include "lwm2m/format/senml_json.hpp"
#include "lwm2m/format/text.hpp"
#include "lwm2m/format/tlv.hpp"
#include "lwm2m/format/typing.hpp"

namespace tether::lwm2m::format {
namespace {

Error unsupported(ContentFormat format, const char* what) {
  return fail(std::string(name_of(format)) + " cannot carry " + what);
}

// Encoders see only content on the target's line (empty nodes included): anything else is a
// caller's mistake that would otherwise put other objects' values on the wire.
Result<Ok> check_under(const Path& target, const Tree& content) {
  for (const auto& [oid, object] : content.objects) {
    const Path o{oid};
    if (auto ok = check_on_target(target, o); !ok) return ok;
    for (const auto& [iid, instance] : object.instances) {
      const Path i = o.child(iid);
      if (auto ok = check_on_target(target, i); !ok) return ok;
      for (const auto& [rid, resource] : instance.resources) {
        const Path r = i.child(rid);
        if (auto ok = check_on_target(target, r); !ok) return ok;
        for (const auto& [riid, value] : resource.instances) {
          if (auto ok = check_on_target(target, r.child(riid)); !ok) return ok;
        }
      }
    }
  }
  return Ok{};
}

}  // namespace

Result<Bytes> encode(ContentFormat format, const Path& path, const Tree& content,
                     const model::Model& model) {
  if (auto under = check_under(path, content); !under) return under.error();
  switch (format) {
    case ContentFormat::kText:
      return text::encode(path, content, model);
    case ContentFormat::kOpaque:
      return opaque::encode(path, content, model);
    case ContentFormat::kTlv:
      return tlv::encode(path, content, model);
    case ContentFormat::kSenmlJson:
      return senml::encode(senml_json::kWire, path, content);
    case ContentFormat::kSenmlCbor:
      return senml::encode(senml_cbor::kWire, path, content);
    case ContentFormat::kLwm2mCbor:
      return lwm2m_cbor::encode(path, content, model);
    default:
      return unsupported(format, "a read or write payload");
  }
}

Result<Tree> decode(ContentFormat format, const Path& path, ByteView payload,
                    const model::Model& model) {
  switch (format) {
    case ContentFormat::kText:
      return text::decode(path, payload, model);
    case ContentFormat::kOpaque:
      return opaque::decode(path, payload, model);
    case ContentFormat::kTlv:
      return tlv::decode(path, payload, model);
    case ContentFormat::kOldJson:
      return old_json::decode(path, payload, model);
    case ContentFormat::kSenmlJson:
      return senml::decode(senml_json::kWire, path, payload, model);
    case ContentFormat::kSenmlCbor:
      return senml::decode(senml_cbor::kWire, path, payload, model);
    case ContentFormat::kLwm2mCbor:
      return lwm2m_cbor::decode(path, payload, model);
    default:
      return unsupported(format, "a read or write payload");
  }
}

Result<Bytes> encode_records(ContentFormat format, std::span<const Record> records,
                             const model::Model& model) {
  switch (format) {
    case ContentFormat::kSenmlJson:
    case ContentFormat::kSenmlEtchJson:
      return senml::encode_records(senml_json::kWire, records);
    case ContentFormat::kSenmlCbor:
    case ContentFormat::kSenmlEtchCbor:
      return senml::encode_records(senml_cbor::kWire, records);
    case ContentFormat::kLwm2mCbor:
      return lwm2m_cbor::encode_records(records, model);
    default:
      return unsupported(format, "composite records");
  }
}

Result<std::vector<Record>> decode_records(ContentFormat format, ByteView payload,
                                           const model::Model& model) {
  switch (format) {
    case ContentFormat::kSenmlJson:
    case ContentFormat::kSenmlEtchJson:
      return senml::decode_records(senml_json::kWire, payload, model);
    case ContentFormat::kSenmlCbor:
    case ContentFormat::kSenmlEtchCbor:
      return senml::decode_records(senml_cbor::kWire, payload, model);
    case ContentFormat::kLwm2mCbor:
      return lwm2m_cbor::decode_records(payload, model);
    case ContentFormat::kOldJson:
      return old_json::decode_records(payload, model);
    default:
      return unsupported(format, "composite records");
  }
}

Result<Bytes> encode_paths(ContentFormat format, std::span<const Path> paths) {
  switch (format) {
    case ContentFormat::kSenmlJson:
    case ContentFormat::kSenmlEtchJson:
      return senml::encode_paths(senml_json::kWire, paths);
    case ContentFormat::kSenmlCbor:
    case ContentFormat::kSenmlEtchCbor:
      return senml::encode_paths(senml_cbor::kWire, paths);
    default:
      return unsupported(format, "a path list");
  }
}

Result<std::vector<Path>> decode_paths(ContentFormat format, ByteView payload) {
  switch (format) {
    case ContentFormat::kSenmlJson:
    case ContentFormat::kSenmlEtchJson:
      return senml::decode_paths(senml_json::kWire, payload);
    case ContentFormat::kSenmlCbor:
    case ContentFormat::kSenmlEtchCbor:
      return senml::decode_paths(senml_cbor::kWire, payload);
    default:
      return unsupported(format, "a path list");
  }
}

}  // namespace tether::lwm2m::format
