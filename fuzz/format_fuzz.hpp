#pragma once
// What every content-format fuzzer checks: a decoder either refuses with a reason or returns
// content that encodes, decodes again and encodes to the same bytes (no partial or unstable
// results). The first input byte picks the target path and the operation; the rest is the
// payload.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "lwm2m/format/codec.hpp"
#include "lwm2m/model/object_registry.hpp"

namespace fuzz_support {

using tether::ByteView;
using tether::lwm2m::Path;
using tether::lwm2m::format::ContentFormat;

[[noreturn]] inline void mismatch(const char* what) {
  std::fprintf(stderr, "format fuzzer: %s\n", what);
  std::abort();
}

inline const tether::lwm2m::model::ObjectRegistry& registry() {
  static const auto r = tether::lwm2m::model::ObjectRegistry::with_builtin();
  return r;
}

inline Path pick_path(std::uint8_t selector) {
  static const Path kPaths[] = {Path{3},       Path{3, 0}, Path{3, 0, 7}, Path{3, 0, 7, 1},
                                Path{3303, 0}, Path{},     Path{5, 0, 0}, Path{3, 0, 13}};
  return kPaths[selector & 7];
}

template <typename T>
void require_reason(const tether::Result<T>& r) {
  if (!r && r.error().reason.empty()) mismatch("error without a reason");
}

enum class Mode { kTree, kRecords, kPaths };

inline Mode pick_mode(std::uint8_t selector) {
  switch ((selector >> 3) % 3) {
    case 0:
      return Mode::kTree;
    case 1:
      return Mode::kRecords;
    default:
      return Mode::kPaths;
  }
}

inline void check_tree(ContentFormat format, const Path& path, ByteView payload, bool encodes) {
  namespace f = tether::lwm2m::format;
  auto tree = f::decode(format, path, payload, registry());
  require_reason(tree);
  if (!tree || !encodes) return;
  auto first = f::encode(format, path, *tree, registry());
  if (!first) mismatch("a decoded tree does not encode");
  auto again = f::decode(format, path, *first, registry());
  if (!again) mismatch("our own encoding does not decode");
  auto second = f::encode(format, path, *again, registry());
  if (!second || *second != *first) mismatch("encoding is not stable");
}

inline void check_records(ContentFormat format, ByteView payload, bool encodes) {
  namespace f = tether::lwm2m::format;
  auto records = f::decode_records(format, payload, registry());
  require_reason(records);
  if (!records || !encodes) return;
  auto first = f::encode_records(format, *records, registry());
  if (!first) mismatch("decoded records do not encode");
  auto again = f::decode_records(format, *first, registry());
  if (!again) mismatch("our own records do not decode");
  auto second = f::encode_records(format, *again, registry());
  if (!second || *second != *first) mismatch("record encoding is not stable");
}

inline void check_paths(ContentFormat format, ByteView payload) {
  namespace f = tether::lwm2m::format;
  auto paths = f::decode_paths(format, payload);
  require_reason(paths);
  if (!paths) return;
  auto bytes = f::encode_paths(format, *paths);
  if (!bytes) mismatch("decoded paths do not encode");
  auto again = f::decode_paths(format, *bytes);
  if (!again || *again != *paths) mismatch("paths do not round-trip");
}

// The whole check for one format, driven by the selector byte.
inline int run(ContentFormat format, const std::uint8_t* data, std::size_t size, bool encodes,
               bool has_records, bool has_paths) {
  if (size == 0) return 0;
  const ByteView payload(data + 1, size - 1);
  switch (pick_mode(data[0])) {
    case Mode::kTree:
      check_tree(format, pick_path(data[0]), payload, encodes);
      break;
    case Mode::kRecords:
      if (has_records) check_records(format, payload, encodes);
      break;
    case Mode::kPaths:
      if (has_paths) check_paths(format, payload);
      break;
  }
  return 0;
}

}  // namespace fuzz_support
