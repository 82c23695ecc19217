#include "lwm2m/format/senml_json.hpp"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "common/base64.hpp"
#include "common/text.hpp"
#include "lwm2m/format/json_number.hpp"
#include "lwm2m/format/typing.hpp"

namespace tether::lwm2m::format::senml_json {
namespace {

using json = nlohmann::json;

Result<Ok> put_value(json& record, const Value& value) {
  struct Visitor {
    json& r;
    Result<Ok> operator()(std::monostate) const { return Ok{}; }
    Result<Ok> operator()(const std::string& s) const {
      if (!is_utf8(s)) return fail("SenML JSON: a string value is not UTF-8");
      r["vs"] = s;
      return Ok{};
    }
    Result<Ok> operator()(std::int64_t i) const {
      r["v"] = i;
      return Ok{};
    }
    Result<Ok> operator()(std::uint64_t u) const {
      r["v"] = u;
      return Ok{};
    }
    Result<Ok> operator()(double d) const {
      if (!std::isfinite(d)) return fail("SenML JSON cannot carry NaN or infinity");
      r["v"] = d;
      return Ok{};
    }
    Result<Ok> operator()(bool b) const {
      r["vb"] = b;
      return Ok{};
    }
    Result<Ok> operator()(const Bytes& b) const {
      // Core TS 7.4.4: opaque values are base64url without padding.
      r["vd"] = base64_encode(b, Base64Alphabet::kUrl);
      return Ok{};
    }
    Result<Ok> operator()(Time t) const {
      r["v"] = t.seconds;
      return Ok{};
    }
    Result<Ok> operator()(Objlnk l) const {
      r["vlo"] = to_text(Value(l));
      return Ok{};
    }
    Result<Ok> operator()(const Corelnk& c) const {
      if (!is_utf8(c.text)) return fail("SenML JSON: a link value is not UTF-8");
      r["vs"] = c.text;
      return Ok{};
    }
  };
  return std::visit(Visitor{record}, value.storage());
}

Result<double> number(const json& j, const char* label) {
  if (!j.is_number()) return fail(std::string("SenML JSON: '") + label + "' is not a number");
  return j.get<double>();
}

Result<std::string> string(const json& j, const char* label) {
  if (!j.is_string()) return fail(std::string("SenML JSON: '") + label + "' is not a string");
  return j.get<std::string>();
}

Result<Value> value_of(const std::string& key, const json& j) {
  if (key == "v") {
    auto v = json_number(j);
    if (!v) return fail("SenML JSON: 'v' is not a number");
    return v;
  }
  if (key == "vb") {
    if (!j.is_boolean()) return fail("SenML JSON: 'vb' is not a boolean");
    return Value(j.get<bool>());
  }
  auto text = string(j, key.c_str());
  if (!text) return text.error();
  if (key == "vs") return Value(std::move(*text));
  if (key == "vd") {
    auto bytes = base64_decode(*text, Base64Alphabet::kUrl);
    if (!bytes) return fail("SenML JSON: 'vd': " + bytes.error().reason);
    return Value(std::move(*bytes));
  }
  auto link = from_text(*text, ResourceType::kObjlnk);
  if (!link) return fail("SenML JSON: 'vlo': " + link.error().reason);
  return link;
}

Result<senml::WireRecord> read_record(const json& j) {
  if (!j.is_object()) return fail("SenML JSON: a record is not an object");
  senml::WireRecord w;
  int values = 0;
  for (const auto& [key, item] : j.items()) {
    if (key == "bn") {
      auto s = string(item, "bn");
      if (!s) return s.error();
      w.base_name = std::move(*s);
    } else if (key == "n") {
      auto s = string(item, "n");
      if (!s) return s.error();
      w.name = std::move(*s);
    } else if (key == "bt" || key == "t") {
      auto t = number(item, key.c_str());
      if (!t) return t.error();
      (key == "bt" ? w.base_time : w.time) = *t;
    } else if (key == "v" || key == "vs" || key == "vb" || key == "vd" || key == "vlo") {
      auto v = value_of(key, item);
      if (!v) return v.error();
      w.value = std::move(*v);
      ++values;
    } else if (!key.empty() && key.back() == '_') {
      // RFC 8428 4.4: labels ending in '_' must be understood.
      return fail("SenML JSON: unsupported must-understand label '" + key + "'");
    }
  }
  if (values > 1) return fail("SenML JSON: a record carries more than one value");
  return w;
}

}  // namespace

Result<Bytes> write(const senml::Pack& pack) {
  json array = json::array();
  for (const auto& w : pack) {
    json record = json::object();
    if (w.base_name) record["bn"] = *w.base_name;
    if (w.base_time) record["bt"] = *w.base_time;
    if (w.name) record["n"] = *w.name;
    if (w.time) {
      if (!std::isfinite(*w.time)) return fail("SenML JSON cannot carry a non-finite time");
      record["t"] = *w.time;
    }
    if (auto ok = put_value(record, w.value); !ok) return ok.error();
    array.push_back(std::move(record));
  }
  const std::string text = array.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return Bytes(text.begin(), text.end());
}

Result<senml::Pack> read(ByteView payload) {
  const std::string_view text(reinterpret_cast<const char*>(payload.data()), payload.size());
  if (!json_nesting_within(text, 2)) return fail("SenML JSON: nested too deep");
  const json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded()) return fail("SenML JSON: not valid JSON");
  if (!j.is_array()) return fail("SenML JSON: the payload is not an array");
  if (j.size() > senml::kMaxRecords) return fail("SenML JSON: too many records");
  senml::Pack pack;
  pack.reserve(j.size());
  for (const auto& item : j) {
    auto record = read_record(item);
    if (!record) return record.error();
    pack.push_back(std::move(*record));
  }
  return pack;
}

}  // namespace tether::lwm2m::format::senml_json
