#pragma once
// What every decoder shares: the type the model gives a leaf, and checks that decoded
// content lies where the request said it would.
#include <cstddef>
#include <optional>
#include <string_view>

#include "common/result.hpp"
#include "lwm2m/model/object_definition.hpp"
#include "lwm2m/path.hpp"
#include "lwm2m/tree.hpp"
#include "lwm2m/value.hpp"

namespace tether::lwm2m::format {

// The declared type of the resource a leaf path belongs to, when the model knows it.
std::optional<ResourceType> declared_type(const model::Model& model, const Path& leaf);

// Converts a value decoded in its natural form to the declared type (when known).
Result<Value> to_declared_type(const model::Model& model, const Path& leaf, Value value);

// Decoded content must lie on the target path's line: above it (the path's own parents are
// implied) or below it.
Result<Ok> check_on_target(const Path& target, const Path& node);

// Adds one decoded leaf, refusing a second value for the same path.
Result<Ok> add_leaf(Tree& tree, const Path& leaf, Value value);

// True when JSON text nests arrays and objects no deeper than `max_depth` (strings are
// skipped). Decoders check this before parsing so hostile nesting costs nothing.
bool json_nesting_within(std::string_view text, int max_depth);

}  // namespace tether::lwm2m::format
