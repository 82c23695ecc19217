#pragma once
// What SenML JSON (110), SenML CBOR (112) and their ETCH variants (320, 322) share: the
// record model of RFC 8428 as LwM2M uses it (Core TS 7.4.4, 7.4.5), base-name and base-time
// resolution, and typing by the model. Each wire form only reads and writes Packs.
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "lwm2m/model/object_definition.hpp"
#include "lwm2m/path.hpp"
#include "lwm2m/tree.hpp"

namespace tether::lwm2m::format::senml {

// One record as it appears on the wire, before resolution.
struct WireRecord {
  std::optional<std::string> base_name;  // bn
  std::optional<double> base_time;       // bt
  std::optional<std::string> name;       // n
  std::optional<double> time;            // t
  // v (a number), vs, vb, vd or vlo; monostate when the record has none (ETCH, names only).
  // Objlnk stands for vlo; Bytes for vd; a Corelnk or String for vs.
  Value value;
};
using Pack = std::vector<WireRecord>;

// Limits a decoder enforces before any work is done per record.
inline constexpr std::size_t kMaxRecords = 65536;
inline constexpr std::size_t kMaxNameLength = 64;

// Tree content under `target` as records: bn is the target path on the first record, n the
// rest of each leaf's path.
Pack pack_tree(const Path& target, const Tree& content);
// Records with optional times; bn groups records of the same object instance.
Pack pack_records(std::span<const Record> records);
// Names only (Read-Composite / Observe-Composite requests).
Pack pack_paths(std::span<const Path> paths);

// Resolves names and times and types each value by the model.
Result<std::vector<Record>> resolve(const Pack& pack, const model::Model& model);
Result<Tree> resolve_tree(const Path& target, const Pack& pack, const model::Model& model);
Result<std::vector<Path>> resolve_paths(const Pack& pack);

// A wire form (JSON or CBOR): how a Pack becomes bytes and back.
struct Wire {
  Result<Bytes> (*write)(const Pack& pack);
  Result<Pack> (*read)(ByteView payload);
};

// The codec entry points, shared by both wire forms.
Result<Bytes> encode(const Wire& wire, const Path& path, const Tree& content);
Result<Tree> decode(const Wire& wire, const Path& path, ByteView payload,
                    const model::Model& model);
Result<Bytes> encode_records(const Wire& wire, std::span<const Record> records);
Result<std::vector<Record>> decode_records(const Wire& wire, ByteView payload,
                                           const model::Model& model);
Result<Bytes> encode_paths(const Wire& wire, std::span<const Path> paths);
Result<std::vector<Path>> decode_paths(const Wire& wire, ByteView payload);

}  // namespace tether::lwm2m::format::senml
