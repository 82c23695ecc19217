#include "lwm2m/json_values.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "common/base64.hpp"
#include "common/bytes.hpp"
#include "common/text.hpp"

namespace tether::lwm2m {
namespace {

using nlohmann::json;

json value_to_json(const Value& value) {
  struct Visitor {
    json operator()(std::monostate) const { return nullptr; }
    json operator()(const std::string& s) const { return s; }
    json operator()(std::int64_t i) const { return i; }
    json operator()(std::uint64_t u) const { return u; }
    json operator()(double d) const { return d; }
    json operator()(bool b) const { return b; }
    json operator()(const Bytes& b) const { return base64_encode(b, Base64Alphabet::kStandard); }
    json operator()(Time t) const { return t.seconds; }
    json operator()(Objlnk) const { return {}; }
    json operator()(const Corelnk& c) const { return c.text; }
  };
  if (value.type() == ResourceType::kObjlnk) return to_text(value);
  return std::visit(Visitor{}, value.storage());
}

Result<Value> value_from_json(const json& j, const Path& path, const model::Model& model) {
  const auto* def = model.resource(path.object_id(), path.resource_id());
  Value natural;
  if (j.is_string()) {
    auto text = j.get_ref<const std::string&>();
    if (def && def->type != ResourceType::kString) return from_text(text, def->type);
    if (!is_utf8(text)) return fail("string is not valid UTF-8");
    natural = Value(text);
  } else if (j.is_boolean()) {
    natural = Value(j.get<bool>());
  } else if (j.is_number_unsigned()) {
    auto u = j.get<std::uint64_t>();
    natural = u <= std::uint64_t(INT64_MAX) ? Value(static_cast<std::int64_t>(u)) : Value(u);
  } else if (j.is_number_integer()) {
    natural = Value(j.get<std::int64_t>());
  } else if (j.is_number_float()) {
    natural = Value(j.get<double>());
  } else {
    return fail(path.to_string() + ": expected a string, number or boolean");
  }
  if (!def) return natural;
  return convert(std::move(natural), def->type);
}

Result<Record> record_from(const std::string& name, const json& value, const model::Model& model) {
  auto path = Path::parse(name);
  if (!path) return path.error();
  if (path->depth() < 3) return fail(name + ": a value needs a resource path");
  auto v = value_from_json(value, *path, model);
  if (!v) return fail(name + ": " + v.error().reason);
  return Record{*path, std::move(*v), std::nullopt};
}

}  // namespace

std::string records_to_json(std::span<const Record> records, int indent,
                            const model::Model* model) {
  bool timed = false;
  for (const auto& r : records) timed = timed || r.time.has_value();
  auto to_json = [model](const Record& r) {
    const auto* bytes = r.value.get_if<Bytes>();
    if (bytes != nullptr && model != nullptr &&
        model->resource(r.path.object_id(), r.path.resource_id()) == nullptr) {
      return json{{"hex", to_hex(*bytes)}};
    }
    return value_to_json(r.value);
  };
  json out = timed ? json::array() : json::object();
  for (const auto& r : records) {
    if (!timed) {
      out[r.path.to_string()] = to_json(r);
      continue;
    }
    json entry = {{"path", r.path.to_string()}, {"value", to_json(r)}};
    if (r.time) entry["time"] = *r.time;
    out.push_back(std::move(entry));
  }
  // Strings were checked as UTF-8 where they entered; replacing keeps this from ever throwing.
  return out.dump(indent, ' ', false, json::error_handler_t::replace);
}

Result<std::vector<Record>> records_from_json(std::string_view text, const model::Model& model) {
  json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded()) return fail("not valid JSON");
  std::vector<Record> out;
  if (j.is_object()) {
    for (const auto& [name, value] : j.items()) {
      auto r = record_from(name, value, model);
      if (!r) return r.error();
      out.push_back(std::move(*r));
    }
    // Object keys come back in text order; paths sort numerically ("/3/0/10" after "/3/0/9").
    std::sort(out.begin(), out.end(),
              [](const Record& a, const Record& b) { return a.path < b.path; });
    return out;
  }
  if (!j.is_array()) return fail("expected a JSON object or array");
  for (const auto& entry : j) {
    if (!entry.is_object() || !entry.contains("path") || !entry["path"].is_string() ||
        !entry.contains("value"))
      return fail("array entries need \"path\" and \"value\"");
    auto r = record_from(entry["path"].get<std::string>(), entry["value"], model);
    if (!r) return r.error();
    if (entry.contains("time")) {
      if (!entry["time"].is_number()) return fail("\"time\" must be a number");
      r->time = entry["time"].get<double>();
    }
    out.push_back(std::move(*r));
  }
  return out;
}

}  // namespace tether::lwm2m
