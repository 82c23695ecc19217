#include "lwm2m/format/typing.hpp"

#include <string>

namespace tether::lwm2m::format {

std::optional<ResourceType> declared_type(const model::Model& model, const Path& leaf) {
  if (leaf.depth() < 3) return std::nullopt;
  const auto* def = model.resource(leaf.object_id(), leaf.resource_id());
  if (!def) return std::nullopt;
  return def->type;
}

Result<Value> to_declared_type(const model::Model& model, const Path& leaf, Value value) {
  auto type = declared_type(model, leaf);
  if (!type || *type == ResourceType::kNone) return value;
  auto converted = convert(std::move(value), *type);
  if (!converted) return fail(leaf.to_string() + ": " + converted.error().reason);
  return converted;
}

Result<Ok> check_on_target(const Path& target, const Path& node) {
  const bool on_line = node.depth() <= target.depth() ? node.covers(target) : target.covers(node);
  if (!on_line) return fail(node.to_string() + " lies outside the target " + target.to_string());
  return Ok{};
}

Result<Ok> add_leaf(Tree& tree, const Path& leaf, Value value) {
  if (tree.find_value(leaf)) return fail(leaf.to_string() + " appears twice");
  auto set = tree.set(leaf, std::move(value));
  if (!set) return fail(set.error().reason);
  return Ok{};
}

bool json_nesting_within(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

}  // namespace tether::lwm2m::format
