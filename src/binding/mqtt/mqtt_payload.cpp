#include "binding/mqtt/mqtt_payload.hpp"

#include <string_view>

#include "common/text.hpp"
#include "lwm2m/format/cbor_io.hpp"

namespace tether::binding::mqtt {

namespace cbor = lwm2m::format::cbor;

namespace {

// Extensions we do not know may nest; this deep is plenty and bounds the walk.
constexpr int kMaxExtensionDepth = 8;

std::size_t count(const Payload& p) {
  std::size_t n = 0;
  auto add = [&](const auto& field) {
    if (field.has_value()) ++n;
  };
  add(p.operation);
  add(p.token);
  add(p.endpoint);
  add(p.preferred_content_format);
  add(p.uri);
  add(p.paths);
  add(p.payload);
  add(p.lifetime);
  add(p.version);
  add(p.binding);
  add(p.sms);
  add(p.pmin);
  add(p.pmax);
  add(p.gt);
  add(p.st);
  add(p.epmin);
  add(p.epmax);
  add(p.result);
  add(p.content_type);
  add(p.edge);
  add(p.hqmax);
  add(p.depth);
  add(p.lt);
  add(p.profile_id);
  add(p.queue_mode);
  return n;
}

std::string key_name(std::uint64_t k) {
  return "CBOR key " + std::to_string(k);
}

}  // namespace

Bytes encode(const Payload& p) {
  Bytes out;
  cbor::Writer w(out);
  w.map(count(p));
  auto uint = [&](std::uint64_t k, const std::optional<std::uint64_t>& v) {
    if (!v) return;
    w.unsigned_integer(k);
    w.unsigned_integer(*v);
  };
  auto text = [&](std::uint64_t k, const std::optional<std::string>& v) {
    if (!v) return;
    w.unsigned_integer(k);
    w.text(*v);
  };
  auto bytes = [&](std::uint64_t k, const std::optional<Bytes>& v) {
    if (!v) return;
    w.unsigned_integer(k);
    w.bytes(*v);
  };
  auto number = [&](std::uint64_t k, const std::optional<double>& v) {
    if (!v) return;
    w.unsigned_integer(k);
    w.floating(*v);
  };
  uint(key::kOperation, p.operation);
  uint(key::kToken, p.token);
  text(key::kEndpoint, p.endpoint);
  uint(key::kPreferredContentFormat, p.preferred_content_format);
  text(key::kUri, p.uri);
  bytes(key::kPaths, p.paths);
  bytes(key::kPayload, p.payload);
  uint(key::kLifetime, p.lifetime);
  text(key::kVersion, p.version);
  text(key::kBinding, p.binding);
  text(key::kSms, p.sms);
  uint(key::kPmin, p.pmin);
  uint(key::kPmax, p.pmax);
  number(key::kGt, p.gt);
  number(key::kSt, p.st);
  uint(key::kEpmin, p.epmin);
  uint(key::kEpmax, p.epmax);
  uint(key::kResult, p.result);
  uint(key::kContentType, p.content_type);
  if (p.edge) uint(key::kEdge, *p.edge ? 1 : 0);
  uint(key::kHqmax, p.hqmax);
  uint(key::kDepth, p.depth);
  number(key::kLt, p.lt);
  text(key::kProfileId, p.profile_id);
  if (p.queue_mode) uint(key::kQueueMode, *p.queue_mode ? 1 : 0);
  return out;
}

Result<Payload> decode(ByteView bytes) {
  cbor::Reader r(bytes);
  auto head = r.next();
  if (!head) return head.error();
  if (head->kind != cbor::Kind::kMap) {
    return fail("an LwM2M MQTT payload is a CBOR map, not " +
                std::string(cbor::name_of(head->kind)));
  }
  Payload p;
  std::uint32_t seen = 0;  // bit k: key k (1..25) already read
  const bool open_ended = head->count == cbor::kIndefinite;
  for (std::size_t i = 0; open_ended || i < head->count; ++i) {
    if (open_ended && r.consume_break()) break;
    auto k = r.next();
    if (!k) return k.error();
    if (k->kind != cbor::Kind::kUnsigned) {
      return fail("a map key that is not an unsigned integer (" +
                  std::string(cbor::name_of(k->kind)) + ")");
    }
    const std::uint64_t id = k->value;
    auto v = r.next();
    if (!v) return v.error();
    if (id >= 1 && id <= 25) {
      const std::uint32_t bit = std::uint32_t{1} << id;
      if ((seen & bit) != 0) return fail(key_name(id) + " appears twice");
      seen |= bit;
    }
    auto as_uint = [&](std::optional<std::uint64_t>& into) -> Result<Ok> {
      if (v->kind != cbor::Kind::kUnsigned) {
        return fail(key_name(id) + " is not an unsigned integer");
      }
      into = v->value;
      return Ok{};
    };
    auto as_flag = [&](std::optional<bool>& into) -> Result<Ok> {
      if (v->kind != cbor::Kind::kUnsigned || v->value > 1) {
        return fail(key_name(id) + " is neither 0 nor 1");
      }
      into = v->value == 1;
      return Ok{};
    };
    auto as_text = [&](std::optional<std::string>& into) -> Result<Ok> {
      if (v->kind != cbor::Kind::kText) return fail(key_name(id) + " is not a text string");
      if (!is_utf8(v->text())) return fail(key_name(id) + " is not valid UTF-8");
      into = std::string(v->text());
      return Ok{};
    };
    auto as_bytes = [&](std::optional<Bytes>& into) -> Result<Ok> {
      if (v->kind != cbor::Kind::kBytes) return fail(key_name(id) + " is not a byte string");
      into = Bytes(v->data.begin(), v->data.end());
      return Ok{};
    };
    auto as_number = [&](std::optional<double>& into) -> Result<Ok> {
      if (v->kind == cbor::Kind::kFloat) {
        into = v->number;
      } else if (v->kind == cbor::Kind::kUnsigned || v->kind == cbor::Kind::kNegative) {
        auto n = cbor::to_int64(*v);
        if (!n) return n.error();
        into = static_cast<double>(*n);
      } else {
        return fail(key_name(id) + " is not a number");
      }
      return Ok{};
    };
    Result<Ok> ok = Ok{};
    switch (id) {
      case key::kOperation:
        ok = as_uint(p.operation);
        break;
      case key::kToken:
        ok = as_uint(p.token);
        break;
      case key::kEndpoint:
        ok = as_text(p.endpoint);
        break;
      case key::kPreferredContentFormat:
        ok = as_uint(p.preferred_content_format);
        break;
      case key::kUri:
        ok = as_text(p.uri);
        break;
      case key::kPaths:
        ok = as_bytes(p.paths);
        break;
      case key::kPayload:
        ok = as_bytes(p.payload);
        break;
      case key::kLifetime:
        ok = as_uint(p.lifetime);
        break;
      case key::kVersion:
        ok = as_text(p.version);
        break;
      case key::kBinding:
        ok = as_text(p.binding);
        break;
      case key::kSms:
        ok = as_text(p.sms);
        break;
      case key::kPmin:
        ok = as_uint(p.pmin);
        break;
      case key::kPmax:
        ok = as_uint(p.pmax);
        break;
      case key::kGt:
        ok = as_number(p.gt);
        break;
      case key::kSt:
        ok = as_number(p.st);
        break;
      case key::kEpmin:
        ok = as_uint(p.epmin);
        break;
      case key::kEpmax:
        ok = as_uint(p.epmax);
        break;
      case key::kResult:
        ok = as_uint(p.result);
        break;
      case key::kContentType:
        ok = as_uint(p.content_type);
        break;
      case key::kEdge:
        ok = as_flag(p.edge);
        break;
      case key::kQueueMode:
        ok = as_flag(p.queue_mode);
        break;
      case key::kHqmax:
        ok = as_uint(p.hqmax);
        break;
      case key::kDepth:
        ok = as_uint(p.depth);
        if (ok && *p.depth > 3) ok = fail("depth is not 0..3");
        break;
      case key::kLt:
        ok = as_number(p.lt);
        break;
      case key::kProfileId:
        ok = as_text(p.profile_id);
        break;
      default:
        ok = r.skip(*v, kMaxExtensionDepth);  // an extension (8.3: `* $$extensions`)
        break;
    }
    if (!ok) return ok.error();
  }
  if (!r.at_end()) return fail("bytes after the CBOR map");
  return p;
}

}  // namespace tether::binding::mqtt
