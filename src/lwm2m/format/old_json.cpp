#include "lwm2m/format/old_json.hpp"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "lwm2m/format/json_number.hpp"
#include "lwm2m/format/senml.hpp"
#include "lwm2m/format/typing.hpp"

namespace tether::lwm2m::format::old_json {
namespace {

using json = nlohmann::json;

Error bad(const std::string& why) {
  return fail("LwM2M JSON: " + why);
}

// The 1.0 format has no base64url opaque field: opaque travels in "sv" as base64, and time
// and links are typed by the model, so a string is read the way the resource expects.
Result<Value> string_value(const model::Model& model, const Path& path, const std::string& s) {
  auto type = declared_type(model, path);
  if (type && *type != ResourceType::kString) return from_text(s, *type);
  return Value(s);
}

Result<senml::WireRecord> entry(const json& e, const std::string& base_name,
                                const model::Model& model) {
  if (!e.is_object()) return bad("an entry is not an object");
  senml::WireRecord w;
  int values = 0;
  for (const auto& [key, item] : e.items()) {
    if (key == "n") {
      if (!item.is_string()) return bad("'n' is not a string");
      w.name = item.get<std::string>();
    } else if (key == "t") {
      if (!item.is_number()) return bad("'t' is not a number");
      w.time = item.get<double>();
    } else if (key == "v") {
      auto v = json_number(item);
      if (!v) return bad("'v' is not a number");
      w.value = std::move(*v);
      ++values;
    } else if (key == "bv") {
      if (!item.is_boolean()) return bad("'bv' is not a boolean");
      w.value = Value(item.get<bool>());
      ++values;
    } else if (key == "ov" || key == "sv") {
      if (!item.is_string()) return bad("'" + key + "' is not a string");
      w.value = Value(item.get<std::string>());
      ++values;
    } else {
      return bad("unknown entry field '" + key + "'");
    }
  }
  if (values != 1) return bad("an entry needs exactly one value");
  // Strings meet the model here, where the full name is known.
  if (const auto* s = w.value.get_if<std::string>()) {
    auto path = Path::parse(base_name + w.name.value_or(""));
    if (path && path->depth() >= 3) {
      auto ov =
          e.contains("ov") ? from_text(*s, ResourceType::kObjlnk) : string_value(model, *path, *s);
      if (!ov) return bad(path->to_string() + ": " + ov.error().reason);
      w.value = std::move(*ov);
    }
  }
  return w;
}

Result<senml::Pack> read(ByteView payload, const model::Model& model) {
  const std::string_view text(reinterpret_cast<const char*>(payload.data()), payload.size());
  if (!json_nesting_within(text, 3)) return bad("nested too deep");
  const json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded()) return bad("not valid JSON");
  if (!j.is_object()) return bad("the payload is not an object");
  senml::Pack pack;
  std::string base_name;
  std::optional<double> base_time;
  const json* entries = nullptr;
  for (const auto& [key, item] : j.items()) {
    if (key == "bn") {
      if (!item.is_string()) return bad("'bn' is not a string");
      base_name = item.get<std::string>();
    } else if (key == "bt") {
      if (!item.is_number()) return bad("'bt' is not a number");
      base_time = item.get<double>();
    } else if (key == "e") {
      if (!item.is_array()) return bad("'e' is not an array");
      entries = &item;
    } else {
      return bad("unknown field '" + key + "'");
    }
  }
  if (!entries) return bad("no 'e' array");
  if (entries->size() > senml::kMaxRecords) return bad("too many entries");
  for (const auto& e : *entries) {
    auto w = entry(e, base_name, model);
    if (!w) return w.error();
    if (pack.empty()) {
      w->base_name = base_name;
      w->base_time = base_time;
    }
    pack.push_back(std::move(*w));
  }
  return pack;
}

}  // namespace

Result<Tree> decode(const Path& path, ByteView payload, const model::Model& model) {
  auto pack = read(payload, model);
  if (!pack) return pack.error();
  return senml::resolve_tree(path, *pack, model);
}

Result<std::vector<Record>> decode_records(ByteView payload, const model::Model& model) {
  auto pack = read(payload, model);
  if (!pack) return pack.error();
  return senml::resolve(*pack, model);
}

}  // namespace tether::lwm2m::format::old_json
