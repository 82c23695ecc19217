#pragma once
// The node tree client and server both use: objects -> instances -> resources -> resource
// instances. Every content format encodes a Tree (or its flat Records) and decodes into one.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "lwm2m/path.hpp"
#include "lwm2m/value.hpp"

namespace tether::lwm2m {

// A small sorted map keyed by 16-bit IDs: contiguous, cheap to copy and to walk in order.
template <typename T>
class IdMap {
 public:
  using Entry = std::pair<std::uint16_t, T>;

  T& operator[](std::uint16_t id) {
    auto it = lower(id);
    if (it == items_.end() || it->first != id) it = items_.insert(it, Entry{id, T{}});
    return it->second;
  }
  T* find(std::uint16_t id) {
    auto it = lower(id);
    return it != items_.end() && it->first == id ? &it->second : nullptr;
  }
  const T* find(std::uint16_t id) const { return const_cast<IdMap*>(this)->find(id); }
  bool contains(std::uint16_t id) const { return find(id) != nullptr; }
  bool erase(std::uint16_t id) {
    auto it = lower(id);
    if (it == items_.end() || it->first != id) return false;
    items_.erase(it);
    return true;
  }
  std::size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  void clear() { items_.clear(); }
  auto begin() { return items_.begin(); }
  auto end() { return items_.end(); }
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }
  friend bool operator==(const IdMap&, const IdMap&) = default;

 private:
  typename std::vector<Entry>::iterator lower(std::uint16_t id) {
    return std::lower_bound(items_.begin(), items_.end(), id,
                            [](const Entry& e, std::uint16_t k) { return e.first < k; });
  }
  std::vector<Entry> items_;
};

struct ResourceNode {
  bool multiple = false;
  Value value;             // single-instance resources
  IdMap<Value> instances;  // multiple-instance resources (may be empty)
  friend bool operator==(const ResourceNode&, const ResourceNode&) = default;
};

struct InstanceNode {
  IdMap<ResourceNode> resources;
  friend bool operator==(const InstanceNode&, const InstanceNode&) = default;
};

struct ObjectNode {
  IdMap<InstanceNode> instances;
  friend bool operator==(const ObjectNode&, const ObjectNode&) = default;
};

// One leaf: a single-instance resource (/O/I/R) or a resource instance (/O/I/R/RI), with an
// optional SenML time (seconds; negative values are relative to now, RFC 8428 4.5.3).
struct Record {
  Path path;
  Value value;
  std::optional<double> time;
  friend bool operator==(const Record&, const Record&) = default;
};

class Tree {
 public:
  IdMap<ObjectNode> objects;

  // Sets a leaf, creating its parents. A depth-4 path makes the resource multiple; a
  // depth-3 path makes it single. Fails for other depths or when the path contradicts the
  // resource's existing multiplicity.
  Result<Ok> set(const Path& path, Value value);
  // Creates an empty node at `path` (object, instance or multiple resource) and its parents.
  // For a depth-3 path this makes an empty multiple-instance resource.
  Result<Ok> add_node(const Path& path);

  bool contains(const Path& path) const;
  const Value* find_value(const Path& path) const;
  const ResourceNode* find_resource(const Path& path) const;
  const InstanceNode* find_instance(const Path& path) const;
  bool empty() const { return objects.empty(); }
  // Number of leaves (values).
  std::size_t leaf_count() const;

  // Every leaf in path order.
  std::vector<Record> records() const;
  // Leaves in order; duplicate paths fail (use records directly for time series).
  static Result<Tree> from_records(std::span<const Record> records);

  friend bool operator==(const Tree&, const Tree&) = default;
};

}  // namespace tether::lwm2m
