#include "lwm2m/format/senml.hpp"

#include <cmath>

#include "lwm2m/format/typing.hpp"

namespace tether::lwm2m::format::senml {
namespace {

std::string suffix(const std::string& base, const Path& path) {
  std::string full = path.to_string();
  return full.substr(base.size());
}

// The base name for a leaf: its object instance (Core TS examples use "/3/0/").
std::string instance_base(const Path& leaf) {
  return Path{leaf.object_id(), leaf.instance_id()}.to_string() + "/";
}

}  // namespace

Pack pack_tree(const Path& target, const Tree& content) {
  Pack pack;
  const std::string base = target.is_root() ? "" : target.to_string();
  for (auto& record : content.records()) {
    WireRecord w;
    if (pack.empty() && !base.empty()) w.base_name = base;
    std::string rest = suffix(base, record.path);
    if (!rest.empty()) w.name = std::move(rest);
    w.value = std::move(record.value);
    pack.push_back(std::move(w));
  }
  return pack;
}

Pack pack_records(std::span<const Record> records) {
  Pack pack;
  std::string current_base;
  for (const auto& record : records) {
    WireRecord w;
    if (record.path.depth() >= 3) {
      std::string base = instance_base(record.path);
      if (base != current_base) {
        w.base_name = base;
        current_base = std::move(base);
      }
      w.name = suffix(current_base, record.path);
    } else {
      if (!current_base.empty()) w.base_name = std::string();
      current_base.clear();
      w.name = record.path.to_string();
    }
    w.time = record.time;
    w.value = record.value;
    pack.push_back(std::move(w));
  }
  return pack;
}

Pack pack_paths(std::span<const Path> paths) {
  Pack pack;
  for (const auto& path : paths) {
    WireRecord w;
    w.name = path.to_string();
    pack.push_back(std::move(w));
  }
  return pack;
}

Result<std::vector<Record>> resolve(const Pack& pack, const model::Model& model) {
  if (pack.size() > kMaxRecords) return fail("SenML: too many records");
  std::vector<Record> out;
  out.reserve(pack.size());
  std::string base_name;
  std::optional<double> base_time;  // carries over to later records (RFC 8428 4.1)
  for (const auto& w : pack) {
    if (w.base_name) base_name = *w.base_name;
    if (w.base_time) base_time = *w.base_time;
    std::string name = base_name + w.name.value_or("");
    if (name.empty()) return fail("SenML: a record has no name");
    auto path = Path::parse(name);
    if (!path)
      return fail("SenML: name '" + name.substr(0, kMaxNameLength) + "': " + path.error().reason);
    Record r;
    r.path = *path;
    if (w.time || base_time) {
      const double t = base_time.value_or(0) + w.time.value_or(0);
      if (!std::isfinite(t)) return fail("SenML: time is not finite");
      r.time = t;
    }
    if (!w.value.is_none()) {
      if (path->depth() < 3) return fail("SenML: " + name + " carries a value but is no resource");
      auto typed = to_declared_type(model, *path, w.value);
      if (!typed) return fail("SenML: " + typed.error().reason);
      r.value = std::move(*typed);
    }
    out.push_back(std::move(r));
  }
  return out;
}

Result<Tree> resolve_tree(const Path& target, const Pack& pack, const model::Model& model) {
  auto records = resolve(pack, model);
  if (!records) return records.error();
  Tree tree;
  for (auto& r : *records) {
    if (auto ok = check_on_target(target, r.path); !ok) return fail("SenML: " + ok.error().reason);
    if (r.path.depth() < 3) return fail("SenML: " + r.path.to_string() + " is no resource");
    if (r.value.is_none()) {
      auto type = declared_type(model, r.path);
      if (!type || *type != ResourceType::kNone)
        return fail("SenML: " + r.path.to_string() + " has no value");
    }
    if (auto ok = add_leaf(tree, r.path, std::move(r.value)); !ok)
      return fail("SenML: " + ok.error().reason);
  }
  return tree;
}

Result<std::vector<Path>> resolve_paths(const Pack& pack) {
  auto records = resolve(pack, model::Model::empty());
  if (!records) return records.error();
  std::vector<Path> paths;
  paths.reserve(records->size());
  for (const auto& r : *records) {
    if (!r.value.is_none()) return fail("SenML: a path list carries no values");
    paths.push_back(r.path);
  }
  return paths;
}

Result<Bytes> encode(const Wire& wire, const Path& path, const Tree& content) {
  return wire.write(pack_tree(path, content));
}

Result<Tree> decode(const Wire& wire, const Path& path, ByteView payload,
                    const model::Model& model) {
  auto pack = wire.read(payload);
  if (!pack) return pack.error();
  return resolve_tree(path, *pack, model);
}

Result<Bytes> encode_records(const Wire& wire, std::span<const Record> records) {
  return wire.write(pack_records(records));
}

Result<std::vector<Record>> decode_records(const Wire& wire, ByteView payload,
                                           const model::Model& model) {
  auto pack = wire.read(payload);
  if (!pack) return pack.error();
  return resolve(*pack, model);
}

Result<Bytes> encode_paths(const Wire& wire, std::span<const Path> paths) {
  return wire.write(pack_paths(paths));
}

Result<std::vector<Path>> decode_paths(const Wire& wire, ByteView payload) {
  auto pack = wire.read(payload);
  if (!pack) return pack.error();
  return resolve_paths(*pack);
}

}  // namespace tether::lwm2m::format::senml
