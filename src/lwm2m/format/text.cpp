#include "lwm2m/format/text.hpp"

#include <string>
#include <string_view>

#include "common/text.hpp"
#include "lwm2m/format/typing.hpp"

namespace tether::lwm2m::format {
namespace {

Result<Ok> check_single_path(const Path& path, const char* format) {
  if (path.depth() < 3)
    return fail(std::string(format) + " carries one resource, not " + path.to_string());
  return Ok{};
}

Result<const Value*> single_value(const Path& path, const Tree& content, const char* format) {
  if (auto ok = check_single_path(path, format); !ok) return ok.error();
  const Value* value = content.find_value(path);
  if (!value) return fail(std::string(format) + ": no single value at " + path.to_string());
  if (content.leaf_count() != 1) return fail(std::string(format) + " carries exactly one value");
  return value;
}

Result<Tree> one_leaf(const Path& path, Value value) {
  Tree tree;
  auto set = tree.set(path, std::move(value));
  if (!set) return set.error();
  return tree;
}

}  // namespace

namespace text {

Result<Bytes> encode(const Path& path, const Tree& content, const model::Model& model) {
  (void)model;
  auto value = single_value(path, content, "text/plain");
  if (!value) return value.error();
  if ((*value)->is_none()) return fail("text/plain: " + path.to_string() + " has no value");
  const std::string text = to_text(**value);
  return Bytes(text.begin(), text.end());
}

Result<Tree> decode(const Path& path, ByteView payload, const model::Model& model) {
  if (auto ok = check_single_path(path, "text/plain"); !ok) return ok.error();
  const std::string_view text(reinterpret_cast<const char*>(payload.data()), payload.size());
  if (!is_utf8(text)) return fail("text/plain: payload is not UTF-8");
  const ResourceType type = declared_type(model, path).value_or(ResourceType::kString);
  if (type == ResourceType::kNone) return fail("text/plain: " + path.to_string() + " has no value");
  auto value = from_text(text, type);
  if (!value) return fail("text/plain: " + value.error().reason);
  return one_leaf(path, std::move(*value));
}

}  // namespace text

namespace opaque {

Result<Bytes> encode(const Path& path, const Tree& content, const model::Model& model) {
  (void)model;
  auto value = single_value(path, content, "octet-stream");
  if (!value) return value.error();
  const auto* bytes = (*value)->get_if<Bytes>();
  if (!bytes) return fail("octet-stream carries only Opaque values");
  return *bytes;
}

Result<Tree> decode(const Path& path, ByteView payload, const model::Model& model) {
  if (auto ok = check_single_path(path, "octet-stream"); !ok) return ok.error();
  auto type = declared_type(model, path);
  if (type && *type != ResourceType::kOpaque)
    return fail("octet-stream: " + path.to_string() + " is not an Opaque resource");
  return one_leaf(path, Value(Bytes(payload.begin(), payload.end())));
}

}  // namespace opaque

}  // namespace tether::lwm2m::format
