#pragma once
// SenML CBOR (112, RFC 8428 section 6) and SenML-ETCH CBOR (322, RFC 8790) on libcbor.
#include <span>
#include <vector>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "lwm2m/format/senml.hpp"

namespace tether::lwm2m::format::senml_cbor {

Result<Bytes> write(const senml::Pack& pack);
Result<senml::Pack> read(ByteView payload);

Result<Bytes> encode(const Path& path, const Tree& content, const model::Model& model);
Result<Tree> decode(const Path& path, ByteView payload, const model::Model& model);
Result<Bytes> encode_records(std::span<const Record> records, const model::Model& model);
Result<std::vector<Record>> decode_records(ByteView payload, const model::Model& model);
Result<Bytes> encode_paths(std::span<const Path> paths);
Result<std::vector<Path>> decode_paths(ByteView payload);

}  // namespace tether::lwm2m::format::senml_cbor
