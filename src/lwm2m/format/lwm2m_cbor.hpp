#pragma once
// LwM2M CBOR (11544, Core TS 1.2 7.4.6): nested maps keyed by IDs from the root, where a key
// may be an array of IDs standing for a chain of single-child levels.
#include <span>
#include <vector>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "lwm2m/model/object_definition.hpp"
#include "lwm2m/path.hpp"
#include "lwm2m/tree.hpp"

namespace tether::lwm2m::format::lwm2m_cbor {

// Paths are absolute whatever the target; a chain of levels with one child each becomes one
// array key. Time values are plain integers, Objlnk values "O:I" text.
Result<Bytes> encode(const Path& path, const Tree& content, const model::Model& model);
// Accepts compressed and uncompressed keys, and Time as an integer or under tag 1.
Result<Tree> decode(const Path& path, ByteView payload, const model::Model& model);
// The format has no timestamps: records with a time are refused.
Result<Bytes> encode_records(std::span<const Record> records, const model::Model& model);
Result<std::vector<Record>> decode_records(ByteView payload, const model::Model& model);

}  // namespace tether::lwm2m::format::lwm2m_cbor
