#pragma once
// One entry point for every content format. Each format lives in its own file under
// lwm2m/format/; this dispatches by Content-Format and enforces what each one can carry.
//
// `path` is the path the operation targets (the Read, Write or Create path): it decides
// the top level of TLV and the base name of SenML. A Tree carries absolute paths.
#include <span>
#include <vector>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "lwm2m/format/content_format.hpp"
#include "lwm2m/model/object_definition.hpp"
#include "lwm2m/path.hpp"
#include "lwm2m/tree.hpp"

namespace tether::lwm2m::format {

// Read/Observe answers and Write/Create bodies for one path. The tree must lie under
// `path`. Text and opaque carry exactly one value at a resource or resource-instance path.
// A Create body without an instance ID decodes into instance Path::kUnassigned.
Result<Bytes> encode(ContentFormat format, const Path& path, const Tree& content,
                     const model::Model& model);
Result<Tree> decode(ContentFormat format, const Path& path, ByteView payload,
                    const model::Model& model);

// Flat, possibly time-stamped leaves across objects: Read-Composite answers,
// Write-Composite bodies, composite notifications, Send (SenML JSON/CBOR, LwM2M CBOR; the
// SenML-ETCH formats for Write-Composite).
Result<Bytes> encode_records(ContentFormat format, std::span<const Record> records,
                             const model::Model& model);
Result<std::vector<Record>> decode_records(ContentFormat format, ByteView payload,
                                           const model::Model& model);

// Path lists of Read-Composite and Observe-Composite requests (SenML-ETCH JSON/CBOR, and
// SenML JSON/CBOR with names only).
Result<Bytes> encode_paths(ContentFormat format, std::span<const Path> paths);
Result<std::vector<Path>> decode_paths(ContentFormat format, ByteView payload);

}  // namespace tether::lwm2m::format
