#pragma once
// LwM2M values as typed JSON, for people and programs: the REST API and the `tether lwm2m`
// tool. Numbers stay numbers, Opaque is base64, Objlnk is "O:I", Time is seconds.
//   {"/3/0/0": "Tether", "/3/0/7/0": 3800, "/3/0/13": 1763880000}
// Time-stamped records become an array: [{"path": "/3303/0/5700", "time": 1.5, "value": 21.5}].
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "lwm2m/model/object_definition.hpp"
#include "lwm2m/tree.hpp"

namespace tether::lwm2m {

// With `model`, bytes under a path it does not define are {"hex": "425e0000"}: they came
// untyped (TLV, opaque) and may be a number or text, which base64 would hide.
std::string records_to_json(std::span<const Record> records, int indent = -1,
                            const model::Model* model = nullptr);
// Strings are read by the model's type for the path (String when the model does not know it).
Result<std::vector<Record>> records_from_json(std::string_view json, const model::Model& model);

}  // namespace tether::lwm2m
