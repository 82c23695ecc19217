#pragma once
// OMA TLV (11542, Core TS 7.4.3): the binary format of LwM2M 1.0, still the one every
// client speaks. It carries no types and no object IDs: the target path fixes the top level
// and the model types each value.
#include "common/bytes.hpp"
#include "common/result.hpp"
#include "lwm2m/model/object_definition.hpp"
#include "lwm2m/path.hpp"
#include "lwm2m/tree.hpp"

namespace tether::lwm2m::format::tlv {

// At /O: Object Instance TLVs. At /O/I: the instance's resources. At /O/I/R: one Resource
// (or Multiple Resource) TLV. At /O/I/R/RI: one Resource Instance TLV. The root path has no
// TLV form (nothing could name the objects).
Result<Bytes> encode(const Path& path, const Tree& content, const model::Model& model);

// The inverse. At /O/I, an enclosing Object Instance TLV for that instance is accepted too
// (some clients send one). At /O, bare resources are a Create body without an instance ID and
// decode into instance Path::kUnassigned. Values of resources the model does not know stay
// Opaque.
Result<Tree> decode(const Path& path, ByteView payload, const model::Model& model);

}  // namespace tether::lwm2m::format::tlv
