#include "lwm2m/format/tlv.hpp"

#include <bit>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "common/text.hpp"
#include "lwm2m/format/typing.hpp"

namespace tether::lwm2m::format::tlv {
namespace {

// Bits 7-6 of the type byte.
enum class Kind : std::uint8_t {
  kObjectInstance = 0,
  kResourceInstance = 1,
  kMultipleResource = 2,
  kResource = 3,
};

struct Entry {
  Kind kind;
  std::uint16_t id;
  ByteView body;
};

// ---- encoding ----

void put_header(Bytes& out, Kind kind, std::uint16_t id, std::size_t length) {
  std::uint8_t type = static_cast<std::uint8_t>(static_cast<std::uint8_t>(kind) << 6);
  if (id > 0xff) type |= 0x20;
  if (length < 8) {
    type |= static_cast<std::uint8_t>(length);
  } else if (length <= 0xff) {
    type |= 0x08;
  } else if (length <= 0xffff) {
    type |= 0x10;
  } else {
    type |= 0x18;
  }
  out.push_back(type);
  if (id > 0xff) out.push_back(static_cast<std::uint8_t>(id >> 8));
  out.push_back(static_cast<std::uint8_t>(id));
  if (length >= 8) {
    const int bytes = length <= 0xff ? 1 : length <= 0xffff ? 2 : 3;
    for (int i = bytes - 1; i >= 0; --i)
      out.push_back(static_cast<std::uint8_t>(length >> (8 * i)));
  }
}

void put_big_endian(Bytes& out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

int signed_width(std::int64_t v) {
  if (v >= INT8_MIN && v <= INT8_MAX) return 1;
  if (v >= INT16_MIN && v <= INT16_MAX) return 2;
  if (v >= INT32_MIN && v <= INT32_MAX) return 4;
  return 8;
}

Bytes value_bytes(const Value& value) {
  Bytes out;
  struct Visitor {
    Bytes& out;
    void operator()(std::monostate) const {}
    void operator()(const std::string& s) const { out.assign(s.begin(), s.end()); }
    void operator()(std::int64_t i) const {
      put_big_endian(out, static_cast<std::uint64_t>(i), signed_width(i));
    }
    void operator()(std::uint64_t u) const {
      const int width = u <= 0xff ? 1 : u <= 0xffff ? 2 : u <= 0xffffffff ? 4 : 8;
      put_big_endian(out, u, width);
    }
    void operator()(double d) const {
      const auto f = static_cast<float>(d);
      if (static_cast<double>(f) == d || d != d) {
        put_big_endian(out, std::bit_cast<std::uint32_t>(f), 4);
      } else {
        put_big_endian(out, std::bit_cast<std::uint64_t>(d), 8);
      }
    }
    void operator()(bool b) const { out.push_back(b ? 1 : 0); }
    void operator()(const Bytes& b) const { out = b; }
    void operator()(Time t) const { (*this)(t.seconds); }
    void operator()(Objlnk l) const {
      put_big_endian(out, l.object_id, 2);
      put_big_endian(out, l.instance_id, 2);
    }
    void operator()(const Corelnk& c) const { out.assign(c.text.begin(), c.text.end()); }
  };
  std::visit(Visitor{out}, value.storage());
  return out;
}

Result<Ok> put_entry(Bytes& out, Kind kind, std::uint16_t id, ByteView body) {
  if (body.size() > 0xffffff) return fail("TLV values are limited to 16 MiB");
  put_header(out, kind, id, body.size());
  out.insert(out.end(), body.begin(), body.end());
  return Ok{};
}

Result<Ok> put_resource(Bytes& out, std::uint16_t id, const ResourceNode& resource) {
  if (!resource.multiple) {
    return put_entry(out, Kind::kResource, id, value_bytes(resource.value));
  }
  Bytes inner;
  for (const auto& [riid, value] : resource.instances) {
    if (auto ok = put_entry(inner, Kind::kResourceInstance, riid, value_bytes(value)); !ok)
      return ok;
  }
  return put_entry(out, Kind::kMultipleResource, id, inner);
}

Result<Ok> put_resources(Bytes& out, const InstanceNode& instance) {
  for (const auto& [rid, resource] : instance.resources) {
    if (auto ok = put_resource(out, rid, resource); !ok) return ok;
  }
  return Ok{};
}

// ---- decoding ----

Result<std::vector<Entry>> split(ByteView in) {
  std::vector<Entry> entries;
  std::size_t at = 0;
  while (at < in.size()) {
    const std::uint8_t type = in[at++];
    const std::size_t id_size = (type & 0x20) ? 2 : 1;
    const std::size_t length_size = (type >> 3) & 0x03;
    if (in.size() - at < id_size + length_size) return fail("TLV header is truncated");
    std::uint16_t id = in[at++];
    if (id_size == 2) id = static_cast<std::uint16_t>((id << 8) | in[at++]);
    std::size_t length = type & 0x07;
    if (length_size > 0) {
      if (length != 0) return fail("TLV header sets both a short and a long length");
      for (std::size_t i = 0; i < length_size; ++i) length = (length << 8) | in[at++];
    }
    if (in.size() - at < length) return fail("TLV value is truncated");
    if (id > Path::kMaxId) return fail("TLV uses the reserved ID 65535");
    entries.push_back(Entry{static_cast<Kind>(type >> 6), id, in.subspan(at, length)});
    at += length;
  }
  return entries;
}

std::uint64_t big_endian(ByteView b) {
  std::uint64_t v = 0;
  for (auto byte : b) v = (v << 8) | byte;
  return v;
}

Result<std::int64_t> signed_value(ByteView b) {
  if (b.size() != 1 && b.size() != 2 && b.size() != 4 && b.size() != 8)
    return fail("a TLV integer is 1, 2, 4 or 8 bytes, not " + std::to_string(b.size()));
  const std::uint64_t raw = big_endian(b);
  const unsigned shift = static_cast<unsigned>(64 - 8 * b.size());
  // Sign-extend through the top of a 64-bit word.
  return static_cast<std::int64_t>(raw << shift) >> shift;
}

Result<Value> typed_value(ByteView b, ResourceType type) {
  switch (type) {
    case ResourceType::kNone:
      if (!b.empty()) return fail("an executable resource carries no value");
      return Value();
    case ResourceType::kString:
    case ResourceType::kCorelnk: {
      std::string s(b.begin(), b.end());
      if (!is_utf8(s)) return fail("TLV string is not UTF-8");
      if (type == ResourceType::kCorelnk) return Value(Corelnk{std::move(s)});
      return Value(std::move(s));
    }
    case ResourceType::kInteger:
    case ResourceType::kTime: {
      auto v = signed_value(b);
      if (!v) return v.error();
      return type == ResourceType::kTime ? Value(Time{*v}) : Value(*v);
    }
    case ResourceType::kUnsignedInteger:
      if (b.size() != 1 && b.size() != 2 && b.size() != 4 && b.size() != 8)
        return fail("a TLV unsigned integer is 1, 2, 4 or 8 bytes");
      return Value(big_endian(b));
    case ResourceType::kFloat:
      if (b.size() == 4) return Value(double{std::bit_cast<float>(std::uint32_t(big_endian(b)))});
      if (b.size() == 8) return Value(std::bit_cast<double>(big_endian(b)));
      return fail("a TLV float is 4 or 8 bytes");
    case ResourceType::kBoolean:
      if (b.size() != 1 || b[0] > 1) return fail("a TLV boolean is one byte, 0 or 1");
      return Value(b[0] == 1);
    case ResourceType::kOpaque:
      return Value(Bytes(b.begin(), b.end()));
    case ResourceType::kObjlnk:
      if (b.size() != 4) return fail("a TLV object link is 4 bytes");
      return Value(Objlnk{static_cast<std::uint16_t>(big_endian(b.first(2))),
                          static_cast<std::uint16_t>(big_endian(b.subspan(2)))});
  }
  return fail("unknown type");
}

class Decoder {
 public:
  Decoder(const model::Model& model, Tree& tree) : model_(model), tree_(tree) {}

  Result<Ok> leaf(const Path& path, ByteView body) {
    auto type = declared_type(model_, path).value_or(ResourceType::kOpaque);
    auto value = typed_value(body, type);
    if (!value) return fail(path.to_string() + ": " + value.error().reason);
    return add_leaf(tree_, path, std::move(*value));
  }

  // One resource entry under instance path `instance`.
  Result<Ok> resource(const Path& instance, const Entry& e) {
    const Path path = instance.child(e.id);
    if (tree_.find_resource(path)) return fail(path.to_string() + " appears twice");
    if (e.kind == Kind::kResource) return leaf(path, e.body);
    if (e.kind != Kind::kMultipleResource)
      return fail(path.to_string() + ": expected a resource TLV");
    auto inner = split(e.body);
    if (!inner) return inner.error();
    if (auto ok = tree_.add_node(path); !ok) return ok;
    for (const auto& ri : *inner) {
      if (ri.kind != Kind::kResourceInstance)
        return fail(path.to_string() + ": a multiple resource holds resource instances only");
      if (auto ok = leaf(path.child(ri.id), ri.body); !ok) return ok;
    }
    return Ok{};
  }

  Result<Ok> resources(const Path& instance, const std::vector<Entry>& entries) {
    if (auto ok = tree_.add_node(instance); !ok) return ok;
    for (const auto& e : entries) {
      if (auto ok = resource(instance, e); !ok) return ok;
    }
    return Ok{};
  }

  Result<Ok> instance(const Path& object, const Entry& e) {
    const Path path = object.child(e.id);
    if (tree_.find_instance(path)) return fail(path.to_string() + " appears twice");
    auto inner = split(e.body);
    if (!inner) return inner.error();
    return resources(path, *inner);
  }

 private:
  const model::Model& model_;
  Tree& tree_;
};

bool all_of_kind(const std::vector<Entry>& entries, Kind kind) {
  for (const auto& e : entries)
    if (e.kind != kind) return false;
  return true;
}

}  // namespace

Result<Bytes> encode(const Path& path, const Tree& content, const model::Model& model) {
  (void)model;
  Bytes out;
  switch (path.depth()) {
    case 0:
      return fail("TLV cannot carry the root path: it has no object IDs");
    case 1: {
      const auto* object = content.objects.find(path.object_id());
      if (!object) return out;
      // A Create body without an instance ID is the bare resources.
      if (object->instances.size() == 1 && object->instances.begin()->first == Path::kUnassigned) {
        if (auto ok = put_resources(out, object->instances.begin()->second); !ok) return ok.error();
        return out;
      }
      for (const auto& [iid, instance] : object->instances) {
        Bytes inner;
        if (auto ok = put_resources(inner, instance); !ok) return ok.error();
        if (auto ok = put_entry(out, Kind::kObjectInstance, iid, inner); !ok) return ok.error();
      }
      return out;
    }
    case 2: {
      const auto* instance = content.find_instance(path);
      if (instance) {
        if (auto ok = put_resources(out, *instance); !ok) return ok.error();
      }
      return out;
    }
    case 3: {
      const auto* resource = content.find_resource(path);
      if (!resource) return fail("TLV: no resource at " + path.to_string());
      if (auto ok = put_resource(out, path.resource_id(), *resource); !ok) return ok.error();
      return out;
    }
    default: {
      const auto* value = content.find_value(path);
      if (!value) return fail("TLV: no resource instance at " + path.to_string());
      if (auto ok = put_entry(out, Kind::kResourceInstance, path.resource_instance_id(),
                              value_bytes(*value));
          !ok) {
        return ok.error();
      }
      return out;
    }
  }
}

Result<Tree> decode(const Path& path, ByteView payload, const model::Model& model) {
  auto entries = split(payload);
  if (!entries) return entries.error();
  Tree tree;
  Decoder decoder(model, tree);
  Result<Ok> ok = Ok{};
  switch (path.depth()) {
    case 0:
      return fail("TLV cannot carry the root path: it has no object IDs");
    case 1:
      if (all_of_kind(*entries, Kind::kObjectInstance)) {
        for (const auto& e : *entries) {
          if (ok = decoder.instance(path, e); !ok) break;
        }
        if (ok && entries->empty()) ok = tree.add_node(path);
      } else {
        ok = decoder.resources(path.child(Path::kUnassigned), *entries);
      }
      break;
    case 2:
      if (entries->size() == 1 && (*entries)[0].kind == Kind::kObjectInstance) {
        if ((*entries)[0].id != path.instance_id())
          return fail("TLV: object instance " + std::to_string((*entries)[0].id) +
                      " does not match " + path.to_string());
        ok = decoder.instance(path.parent(), (*entries)[0]);
      } else {
        ok = decoder.resources(path, *entries);
      }
      break;
    case 3:
      if (entries->size() != 1 || (*entries)[0].id != path.resource_id())
        return fail("TLV: expected one entry for resource " + path.to_string());
      ok = decoder.resource(path.parent(), (*entries)[0]);
      break;
    default:
      if (entries->size() != 1 || (*entries)[0].kind != Kind::kResourceInstance ||
          (*entries)[0].id != path.resource_instance_id()) {
        return fail("TLV: expected one resource instance " + path.to_string());
      }
      ok = decoder.leaf(path, (*entries)[0].body);
      break;
  }
  if (!ok) return ok.error();
  return tree;
}

}  // namespace tether::lwm2m::format::tlv
