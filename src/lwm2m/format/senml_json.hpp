#pragma once
// SenML JSON (110, RFC 8428) and SenML-ETCH JSON (320, RFC 8790) on nlohmann::json.
// Only the wire form lives here; senml.hpp holds the record model and the codec entry points,
// which take this file's kWire.
#include "common/bytes.hpp"
#include "common/result.hpp"
#include "lwm2m/format/senml.hpp"

namespace tether::lwm2m::format::senml_json {

Result<Bytes> write(const senml::Pack& pack);
Result<senml::Pack> read(ByteView payload);

inline constexpr senml::Wire kWire{&write, &read};

}  // namespace tether::lwm2m::format::senml_json
