#pragma once
// text/plain (0) and application/octet-stream (42): one value at a resource or
// resource-instance path (Core TS 7.3, 7.4.1).
#include "common/bytes.hpp"
#include "common/result.hpp"
#include "lwm2m/model/object_definition.hpp"
#include "lwm2m/path.hpp"
#include "lwm2m/tree.hpp"

namespace tether::lwm2m::format {

namespace text {
// The value at `path` in its plain-text form. Opaque values travel base64-encoded.
Result<Bytes> encode(const Path& path, const Tree& content, const model::Model& model);
// Typed by the model; a resource the model does not know decodes as a String.
Result<Tree> decode(const Path& path, ByteView payload, const model::Model& model);
}  // namespace text

namespace opaque {
// Only Opaque values: the bytes as they are.
Result<Bytes> encode(const Path& path, const Tree& content, const model::Model& model);
Result<Tree> decode(const Path& path, ByteView payload, const model::Model& model);
}  // namespace opaque

}  // namespace tether::lwm2m::format
