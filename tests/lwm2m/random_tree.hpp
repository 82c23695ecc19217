#pragma once
// Random trees for round-trip property tests. Values are drawn per resource type; the
// types come from a small model so typed decoders can restore them exactly.
#include <cstdint>
#include <random>
#include <string>

#include "lwm2m/model/object_definition.hpp"
#include "lwm2m/tree.hpp"

namespace tether::lwm2m::testing {

// Objects 30000..30002, resources 0..9 with one type each (0 String, 1 Integer,
// 2 Unsigned, 3 Float, 4 Boolean, 5 Opaque, 6 Time, 7 Objlnk, 8 Corelnk, 9 String);
// even resource IDs >= 10 are multiple-instance Integer, odd ones multiple String.
class RandomModel final : public model::Model {
 public:
  RandomModel() {
    for (std::uint16_t o = 0; o < 3; ++o) {
      auto& object = objects_[o];
      object.id = static_cast<std::uint16_t>(30000 + o);
      object.multiple = true;
      for (std::uint16_t r = 0; r < 14; ++r) {
        model::ResourceDefinition d;
        d.id = r;
        d.operations = model::kRead | model::kWrite;
        d.multiple = r >= 10;
        d.type =
            r >= 10 ? (r % 2 == 0 ? ResourceType::kInteger : ResourceType::kString) : type_of(r);
        object.resources.push_back(d);
      }
    }
  }
  const model::ObjectDefinition* object(std::uint16_t id) const override {
    return id >= 30000 && id < 30003 ? &objects_[id - 30000] : nullptr;
  }
  static ResourceType type_of(std::uint16_t r) {
    constexpr ResourceType kTypes[] = {
        ResourceType::kString, ResourceType::kInteger, ResourceType::kUnsignedInteger,
        ResourceType::kFloat,  ResourceType::kBoolean, ResourceType::kOpaque,
        ResourceType::kTime,   ResourceType::kObjlnk,  ResourceType::kCorelnk,
        ResourceType::kString};
    return kTypes[r];
  }

 private:
  model::ObjectDefinition objects_[3];
};

struct TreeShape {
  bool allow_empty_nodes = false;  // empty instances / multiple resources (TLV only)
  int max_objects = 2;
  int max_instances = 3;
  int max_resources = 8;
  int max_resource_instances = 3;
};

inline Value random_value(std::mt19937_64& rng, ResourceType type) {
  auto pick = [&](std::uint64_t n) { return rng() % n; };
  switch (type) {
    case ResourceType::kString: {
      std::string s;
      auto len = pick(12);
      for (std::uint64_t i = 0; i < len; ++i) {
        constexpr std::string_view kChars = "abcXYZ019 _-/:\"\\{}\xc3\xa9";
        s += kChars[pick(kChars.size() - 2)];
        if (pick(8) == 0) s += "\xc3\xa9";  // a two-byte UTF-8 character
      }
      return Value(s);
    }
    case ResourceType::kInteger: {
      constexpr std::int64_t kEdges[] = {0,    -1,    127,         128,       -128,
                                         -129, 32767, -2147483648, INT64_MAX, INT64_MIN};
      if (pick(3) == 0) return Value(kEdges[pick(10)]);
      return Value(static_cast<std::int64_t>(rng()) >> pick(63));
    }
    case ResourceType::kUnsignedInteger:
      return Value(pick(3) == 0 ? std::uint64_t{UINT64_MAX} : rng() >> pick(64));
    case ResourceType::kFloat: {
      constexpr double kEdges[] = {0.0, 1.5, -2.25, 3.14159, 1e300, -1e-300, 65504.0, 0.1};
      if (pick(2) == 0) return Value(kEdges[pick(8)]);
      return Value(static_cast<double>(static_cast<std::int64_t>(rng() >> 11)) / 1024.0);
    }
    case ResourceType::kBoolean:
      return Value(pick(2) == 0);
    case ResourceType::kOpaque: {
      Bytes b(pick(20));
      for (auto& x : b) x = static_cast<std::uint8_t>(rng());
      return Value(std::move(b));
    }
    case ResourceType::kTime:
      return Value(Time{static_cast<std::int64_t>(pick(4'000'000'000))});
    case ResourceType::kObjlnk:
      return Value(
          Objlnk{static_cast<std::uint16_t>(pick(65536)), static_cast<std::uint16_t>(pick(65536))});
    case ResourceType::kCorelnk:
      return Value(Corelnk{"</3/0>;ct=" + std::to_string(pick(100))});
    case ResourceType::kNone:
      break;
  }
  return Value();
}

// A tree of 1..max_objects objects of RandomModel, each with at least one instance.
inline Tree random_tree(std::mt19937_64& rng, const TreeShape& shape = {}) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<std::uint64_t>(n)); };
  RandomModel model;
  Tree tree;
  int objects = 1 + pick(shape.max_objects);
  for (int o = 0; o < objects; ++o) {
    auto oid = static_cast<std::uint16_t>(30000 + pick(3));
    int instances = 1 + pick(shape.max_instances);
    for (int i = 0; i < instances; ++i) {
      Path instance{
          oid, static_cast<std::uint16_t>(pick(shape.allow_empty_nodes ? 70000 : 300) % 65535)};
      int resources = (shape.allow_empty_nodes ? 0 : 1) + pick(shape.max_resources);
      if (resources == 0) (void)tree.add_node(instance);
      for (int r = 0; r < resources; ++r) {
        auto rid = static_cast<std::uint16_t>(pick(14));
        const auto* def = model.resource(oid, rid);
        Path resource = instance.child(rid);
        if (!def->multiple) {
          (void)tree.set(resource, random_value(rng, def->type));
          continue;
        }
        int count = (shape.allow_empty_nodes ? 0 : 1) + pick(shape.max_resource_instances);
        if (count == 0) (void)tree.add_node(resource);
        for (int k = 0; k < count; ++k)
          (void)tree.set(resource.child(static_cast<std::uint16_t>(pick(65535))),
                         random_value(rng, def->type));
      }
    }
  }
  return tree;
}

}  // namespace tether::lwm2m::testing
