#pragma once
// The LwM2M 1.0 JSON format (11543, Core TS 1.0 6.4.4), decode only: LwM2M 1.1 replaced it
// with SenML JSON, but 1.0 clients still send it.
#include <vector>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "lwm2m/model/object_definition.hpp"
#include "lwm2m/path.hpp"
#include "lwm2m/tree.hpp"

namespace tether::lwm2m::format::old_json {

// {"bn": "/3/0/", "bt": 0, "e": [{"n": "0", "sv": "..."}, {"n": "9", "v": 100}, ...]} with
// values v (number), bv (boolean), ov ("O:I") and sv (string; base64 for Opaque resources).
Result<Tree> decode(const Path& path, ByteView payload, const model::Model& model);
Result<std::vector<Record>> decode_records(ByteView payload, const model::Model& model);

}  // namespace tether::lwm2m::format::old_json
