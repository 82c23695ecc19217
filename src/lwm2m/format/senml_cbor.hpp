#pragma once
// SenML CBOR (112, RFC 8428 section 6) and SenML-ETCH CBOR (322, RFC 8790) on libcbor.
// Only the wire form lives here; senml.hpp holds the record model and the codec entry points,
// which take this file's kWire.
#include "common/bytes.hpp"
#include "common/result.hpp"
#include "lwm2m/format/senml.hpp"

namespace tether::lwm2m::format::senml_cbor {

Result<Bytes> write(const senml::Pack& pack);
Result<senml::Pack> read(ByteView payload);

inline constexpr senml::Wire kWire{&write, &read};

}  // namespace tether::lwm2m::format::senml_cbor
