#include "lwm2m/format/lwm2m_cbor.hpp"

#include <array>
#include <limits>
#include <string>

#include "common/text.hpp"
#include "lwm2m/format/cbor_io.hpp"
#include "lwm2m/format/typing.hpp"

namespace tether::lwm2m::format::lwm2m_cbor {
namespace {

// A position in the tree: depth 0 is the root, 1 an object ... 4 a resource instance.
struct Node {
  int depth = 0;
  const Tree* tree = nullptr;
  const ObjectNode* object = nullptr;
  const InstanceNode* instance = nullptr;
  const ResourceNode* resource = nullptr;
  const Value* value = nullptr;

  bool is_leaf() const { return value != nullptr; }

  std::size_t child_count() const {
    switch (depth) {
      case 0:
        return tree->objects.size();
      case 1:
        return object->instances.size();
      case 2:
        return instance->resources.size();
      case 3:
        return resource->multiple ? resource->instances.size() : 0;
      default:
        return 0;
    }
  }

  template <typename Fn>
  void for_each_child(Fn&& fn) const {
    Node c = *this;
    c.depth = depth + 1;
    switch (depth) {
      case 0:
        for (const auto& [id, o] : tree->objects) {
          c.object = &o;
          fn(id, c);
        }
        break;
      case 1:
        for (const auto& [id, i] : object->instances) {
          c.instance = &i;
          fn(id, c);
        }
        break;
      case 2:
        for (const auto& [id, r] : instance->resources) {
          c.resource = &r;
          c.value = r.multiple ? nullptr : &r.value;
          fn(id, c);
        }
        break;
      case 3:
        for (const auto& [id, v] : resource->instances) {
          c.value = &v;
          fn(id, c);
        }
        break;
      default:
        break;
    }
  }
};

void write_value(cbor::Writer& w, const Value& value) {
  struct Visitor {
    cbor::Writer& w;
    void operator()(std::monostate) const { w.null(); }
    void operator()(const std::string& s) const { w.text(s); }
    void operator()(std::int64_t i) const { w.integer(i); }
    void operator()(std::uint64_t u) const { w.unsigned_integer(u); }
    void operator()(double d) const { w.floating(d); }
    void operator()(bool b) const { w.boolean(b); }
    void operator()(const Bytes& b) const { w.bytes(b); }
    void operator()(Time t) const { w.integer(t.seconds); }
    void operator()(Objlnk l) const { w.text(to_text(Value(l))); }
    void operator()(const Corelnk& c) const { w.text(c.text); }
  };
  std::visit(Visitor{w}, value.storage());
}

void write_node(cbor::Writer& w, const Node& node) {
  w.map(node.child_count());
  node.for_each_child([&](std::uint16_t id, const Node& child) {
    // Fold a chain of single-child levels into one array key.
    std::array<std::uint16_t, 4> ids{id};
    std::size_t n = 1;
    Node end = child;
    while (!end.is_leaf() && end.child_count() == 1) {
      end.for_each_child([&](std::uint16_t next, const Node& grandchild) {
        ids[n++] = next;
        end = grandchild;
      });
    }
    if (n == 1) {
      w.unsigned_integer(id);
    } else {
      w.array(n);
      for (std::size_t k = 0; k < n; ++k) w.unsigned_integer(ids[k]);
    }
    if (end.is_leaf()) {
      write_value(w, *end.value);
    } else {
      write_node(w, end);
    }
  });
}

class Decoder {
 public:
  Decoder(ByteView payload, const Path& target, const model::Model& model)
      : reader_(payload), target_(target), model_(model) {}

  Result<Tree> run() {
    auto head = next();
    if (!head) return head.error();
    if (head->kind != cbor::Kind::kMap) return fail("LwM2M CBOR: the payload is not a map");
    if (auto ok = map(*head, Path{}); !ok) return ok.error();
    if (!reader_.at_end()) return fail("LwM2M CBOR: bytes follow the map");
    return std::move(tree_);
  }

 private:
  Result<cbor::Item> next() {
    auto item = reader_.next();
    if (!item) return fail("LwM2M CBOR: " + item.error().reason);
    if (item->kind == cbor::Kind::kBreak) return fail("LwM2M CBOR: misplaced break");
    return item;
  }

  bool more(const cbor::Item& head, std::size_t i) {
    return head.count == cbor::kIndefinite ? !reader_.consume_break() : i < head.count;
  }

  Result<Ok> push_id(Path& path, const cbor::Item& item) {
    if (item.kind != cbor::Kind::kUnsigned || item.value > Path::kMaxId)
      return fail("LwM2M CBOR: a key is not an ID");
    if (path.depth() >= 4) return fail("LwM2M CBOR: a key goes below a resource instance");
    path = path.child(static_cast<std::uint16_t>(item.value));
    return Ok{};
  }

  Result<Path> key(const Path& parent) {
    auto head = next();
    if (!head) return head.error();
    Path path = parent;
    if (head->kind != cbor::Kind::kArray) {
      if (auto ok = push_id(path, *head); !ok) return ok.error();
      return path;
    }
    if (head->count == 0 || head->count == cbor::kIndefinite)
      return fail("LwM2M CBOR: an ID-array key is empty or open-ended");
    for (std::size_t i = 0; i < head->count; ++i) {
      auto id = next();
      if (!id) return id.error();
      if (auto ok = push_id(path, *id); !ok) return ok.error();
    }
    return path;
  }

  Result<Ok> map(const cbor::Item& head, const Path& parent) {
    for (std::size_t i = 0; more(head, i); ++i) {
      auto path = key(parent);
      if (!path) return path.error();
      if (auto ok = check_on_target(target_, *path); !ok)
        return fail("LwM2M CBOR: " + ok.error().reason);
      auto item = next();
      if (!item) return item.error();
      if (item->kind == cbor::Kind::kMap) {
        if (path->depth() >= 4) return fail("LwM2M CBOR: a map below a resource instance");
        if (auto ok = tree_.add_node(*path); !ok) return fail("LwM2M CBOR: " + ok.error().reason);
        if (auto ok = map(*item, *path); !ok) return ok;
      } else if (auto ok = leaf(*path, *item); !ok) {
        return ok;
      }
    }
    return Ok{};
  }

  Result<Value> natural(const cbor::Item& item) {
    switch (item.kind) {
      case cbor::Kind::kUnsigned:
        if (item.value <= std::uint64_t(std::numeric_limits<std::int64_t>::max()))
          return Value(static_cast<std::int64_t>(item.value));
        return Value(item.value);
      case cbor::Kind::kNegative: {
        auto i = cbor::to_int64(item);
        if (!i) return i.error();
        return Value(*i);
      }
      case cbor::Kind::kFloat:
        return Value(item.number);
      case cbor::Kind::kBoolean:
        return Value(item.boolean);
      case cbor::Kind::kText: {
        std::string s(item.text());
        if (!is_utf8(s)) return fail("a text value is not UTF-8");
        return Value(std::move(s));
      }
      case cbor::Kind::kBytes:
        return Value(Bytes(item.data.begin(), item.data.end()));
      case cbor::Kind::kNull:
        return Value();
      case cbor::Kind::kTag: {
        // RFC 8949 3.4.2: tag 1 marks epoch seconds.
        auto inner = next();
        if (!inner) return inner.error();
        auto seconds = cbor::to_int64(*inner);
        if (item.value != 1 || !seconds) return fail("only tag 1 (epoch time) is allowed");
        return Value(Time{*seconds});
      }
      default:
        return fail("unexpected " + std::string(cbor::name_of(item.kind)));
    }
  }

  Result<Ok> leaf(const Path& path, const cbor::Item& item) {
    if (path.depth() < 3) return fail("LwM2M CBOR: " + path.to_string() + " is no resource");
    auto value = natural(item);
    if (!value) return fail("LwM2M CBOR: " + path.to_string() + ": " + value.error().reason);
    const auto type = declared_type(model_, path);
    if (type == ResourceType::kObjlnk && value->type() == ResourceType::kString) {
      value = from_text(value->get<std::string>(), ResourceType::kObjlnk);
      if (!value) return fail("LwM2M CBOR: " + path.to_string() + ": " + value.error().reason);
    }
    auto typed = to_declared_type(model_, path, std::move(*value));
    if (!typed) return fail("LwM2M CBOR: " + typed.error().reason);
    if (auto ok = add_leaf(tree_, path, std::move(*typed)); !ok)
      return fail("LwM2M CBOR: " + ok.error().reason);
    return Ok{};
  }

  cbor::Reader reader_;
  Path target_;
  const model::Model& model_;
  Tree tree_;
};

}  // namespace

Result<Bytes> encode(const Path& path, const Tree& content, const model::Model& model) {
  (void)path;
  (void)model;
  Bytes out;
  cbor::Writer w(out);
  Node root;
  root.tree = &content;
  write_node(w, root);
  return out;
}

Result<Tree> decode(const Path& path, ByteView payload, const model::Model& model) {
  return Decoder(payload, path, model).run();
}

Result<Bytes> encode_records(std::span<const Record> records, const model::Model& model) {
  for (const auto& r : records) {
    if (r.time) return fail("LwM2M CBOR carries no timestamps");
  }
  auto tree = Tree::from_records(records);
  if (!tree) return tree.error();
  return encode(Path{}, *tree, model);
}

Result<std::vector<Record>> decode_records(ByteView payload, const model::Model& model) {
  auto tree = decode(Path{}, payload, model);
  if (!tree) return tree.error();
  return tree->records();
}

}  // namespace tether::lwm2m::format::lwm2m_cbor
