#include "lwm2m/object_json.hpp"

#include <span>
#include <string>

#include "common/base64.hpp"
#include "common/bytes.hpp"
#include "lwm2m/json_values.hpp"

namespace tether::lwm2m {

namespace {
using nlohmann::json;

struct Alias {
  const char* name;
  std::uint16_t id;
};

// Core TS Appendix E: resource names of the objects a bootstrap configuration writes.
constexpr Alias kSecurityNames[] = {
    {"uri", 0},
    {"bootstrap", 1},
    {"mode", 2},
    {"publicKeyOrIdentity", 3},
    {"serverPublicKey", 4},
    {"secretKey", 5},
    {"smsSecurityMode", 6},
    {"smsBindingKeyParameters", 7},
    {"smsBindingSecretKeys", 8},
    {"smsNumber", 9},
    {"shortServerId", 10},
    {"clientHoldOffTime", 11},
    {"bootstrapAccountTimeout", 12},
    {"matchingType", 13},
    {"sni", 14},
    {"certificateUsage", 15},
    {"ciphersuites", 16},
    {"oscore", 17},
};
constexpr Alias kServerNames[] = {
    {"shortServerId", 0},
    {"lifetime", 1},
    {"defaultMinPeriod", 2},
    {"defaultMaxPeriod", 3},
    {"disableTimeout", 5},
    {"notificationStoring", 6},
    {"binding", 7},
    {"apn", 10},
    {"registrationPriorityOrder", 13},
    {"initialRegistrationDelay", 14},
    {"registrationFailureBlock", 15},
    {"bootstrapOnRegistrationFailure", 16},
    {"communicationRetryCount", 17},
    {"communicationRetryTimer", 18},
    {"communicationSequenceDelayTimer", 19},
    {"communicationSequenceRetryCount", 20},
    {"trigger", 21},
    {"preferredTransport", 22},
    {"muteSend", 23},
};
constexpr Alias kAccessControlNames[] = {
    {"objectId", 0},
    {"instanceId", 1},
    {"acl", 2},
    {"owner", 3},
};
constexpr Alias kOscoreNames[] = {
    {"masterSecret", 0},  {"senderId", 1},   {"recipientId", 2}, {"aeadAlgorithm", 3},
    {"hmacAlgorithm", 4}, {"masterSalt", 5}, {"idContext", 6},
};
// Security Mode (/0/x/2), Transport TS 5.2.5.
constexpr Alias kSecurityModes[] = {{"psk", 0}, {"rpk", 1}, {"x509", 2}, {"nosec", 3}, {"est", 4}};

struct Section {
  const char* key;
  std::uint16_t object;
  std::span<const Alias> names;
};
const Section kSections[] = {
    {"security", 0, kSecurityNames},
    {"servers", 1, kServerNames},
    {"acl", 2, kAccessControlNames},
    {"oscore", 21, kOscoreNames},
};

std::optional<std::uint16_t> number_of(const std::string& text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  std::uint32_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (n >= Path::kUnassigned) return std::nullopt;
  return static_cast<std::uint16_t>(n);
}

std::optional<std::uint16_t> id_of(std::span<const Alias> names, const std::string& key) {
  for (const auto& a : names) {
    if (key == a.name) return a.id;
  }
  return number_of(key);
}

const char* name_of(std::span<const Alias> names, std::uint16_t id) {
  for (const auto& a : names) {
    if (a.id == id) return a.name;
  }
  return nullptr;
}

// {"hex": "..."} and {"text": "..."} become the base64 that typed JSON reads for Opaque.
Result<json> plain_value(const json& v, const std::string& where) {
  if (!v.is_object()) return v;
  if (v.size() == 1 && v.contains("hex") && v["hex"].is_string()) {
    auto bytes = from_hex(v["hex"].get<std::string>());
    if (!bytes) return fail(where + ": \"hex\" is not hex");
    return json(base64_encode(*bytes, Base64Alphabet::kStandard));
  }
  if (v.size() == 1 && v.contains("text") && v["text"].is_string()) {
    return json(base64_encode(to_bytes(v["text"].get<std::string>()), Base64Alphabet::kStandard));
  }
  return fail(where + ": a value is a string, number, boolean, {\"hex\"} or {\"text\"}");
}

// One instance's {name: value} into absolute typed-JSON keys ({"/0/1/0": "coap://..."}).
Result<Ok> flatten_instance(const Path& instance, std::span<const Alias> names, const json& body,
                            json& out) {
  if (!body.is_object()) return fail(instance.to_string() + " must be a JSON object");
  for (auto it = body.begin(); it != body.end(); ++it) {
    auto rid = id_of(names, it.key());
    if (!rid) return fail(instance.to_string() + ": unknown resource \"" + it.key() + "\"");
    const Path resource = instance.child(*rid);
    json value = it.value();
    if (instance.object_id() == 0 && *rid == 2 && value.is_string()) {
      auto mode = id_of(kSecurityModes, value.get<std::string>());
      if (!mode) return fail(resource.to_string() + ": mode is psk, rpk, x509, nosec or est");
      value = *mode;
    }
    // Multiple-instance resources: {"101": 15} by instance ID, or [v0, v1, ...].
    if (value.is_array() ||
        (value.is_object() && !value.contains("hex") && !value.contains("text"))) {
      std::uint16_t index = 0;
      for (auto e = value.begin(); e != value.end(); ++e, ++index) {
        const auto riid =
            value.is_array() ? std::optional<std::uint16_t>(index) : number_of(e.key());
        if (!riid) return fail(resource.to_string() + ": instance IDs are numbers");
        auto plain = plain_value(e.value(), resource.to_string());
        if (!plain) return plain.error();
        out[resource.child(*riid).to_string()] = std::move(*plain);
      }
      continue;
    }
    auto plain = plain_value(value, resource.to_string());
    if (!plain) return plain.error();
    out[resource.to_string()] = std::move(*plain);
  }
  return Ok{};
}

Result<Tree> tree_of(const json& flat, const model::Model& model) {
  auto records = records_from_json(flat.dump(), model);
  if (!records) return records.error();
  return Tree::from_records(*records);
}

// One instance as {name: value}, the inverse of flatten_instance.
json instance_json(std::uint16_t oid, std::uint16_t iid, const InstanceNode& node,
                   std::span<const Alias> names) {
  Tree t;
  t.objects[oid].instances[iid] = node;
  const auto records = t.records();
  const json flat = json::parse(records_to_json(records));
  json out = json::object();
  for (const auto& r : records) {
    const char* alias = name_of(names, r.path.resource_id());
    const std::string key = alias != nullptr ? alias : std::to_string(r.path.resource_id());
    json value = flat.at(r.path.to_string());
    if (oid == 0 && r.path.resource_id() == 2 && value.is_number_integer()) {
      if (const char* mode = name_of(kSecurityModes, value.get<std::uint16_t>())) value = mode;
    }
    if (r.path.is_resource_instance()) {
      out[key][std::to_string(r.path.resource_instance_id())] = value;
    } else {
      out[key] = value;
    }
  }
  return out;
}

const Section* section_named(std::string_view key) {
  for (const auto& s : kSections) {
    if (key == s.key) return &s;
  }
  return nullptr;
}
}  // namespace

bool is_object_section(std::string_view key) {
  return key == "objects" || section_named(key) != nullptr;
}

Result<Ok> add_object_section(std::string_view key, const json& v, json& flat) {
  if (key == "objects") {
    if (!v.is_object()) return fail("\"objects\" maps paths to values");
    for (auto e = v.begin(); e != v.end(); ++e) {
      auto plain = plain_value(e.value(), e.key());
      if (!plain) return plain.error();
      flat[e.key()] = std::move(*plain);
    }
    return Ok{};
  }
  const Section* section = section_named(key);
  if (section == nullptr) return fail("unknown section \"" + std::string(key) + "\"");
  if (!v.is_object()) return fail("\"" + std::string(key) + "\" maps instance IDs to instances");
  for (auto inst = v.begin(); inst != v.end(); ++inst) {
    auto iid = number_of(inst.key());
    if (!iid) return fail(std::string(key) + ": instance IDs are numbers below 65535");
    auto done = flatten_instance(Path{section->object, *iid}, section->names, inst.value(), flat);
    if (!done) return done.error();
  }
  return Ok{};
}

Result<Tree> tree_from_flat_json(const json& flat, const model::Model& model) {
  return tree_of(flat, model);
}

Result<Tree> tree_from_object_json(const json& j, const model::Model& model) {
  if (!j.is_object()) return fail("expected a JSON object of sections");
  json flat = json::object();
  for (auto it = j.begin(); it != j.end(); ++it) {
    auto done = add_object_section(it.key(), it.value(), flat);
    if (!done) return done.error();
  }
  return tree_of(flat, model);
}

void add_object_sections(const Tree& tree, json& out) {
  for (const auto& [oid, object] : tree.objects) {
    const Section* section = nullptr;
    for (const auto& s : kSections) {
      if (s.object == oid) section = &s;
    }
    for (const auto& [iid, instance] : object.instances) {
      if (section != nullptr) {
        out[section->key][std::to_string(iid)] = instance_json(oid, iid, instance, section->names);
        continue;
      }
      Tree t;
      t.objects[oid].instances[iid] = instance;
      const json flat = json::parse(records_to_json(t.records()));
      for (auto e = flat.begin(); e != flat.end(); ++e) out["objects"][e.key()] = e.value();
    }
  }
}

Result<InstanceNode> security_instance_from_json(const json& j, const model::Model& model) {
  json flat = json::object();
  auto done = flatten_instance(Path{0, 0}, kSecurityNames, j, flat);
  if (!done) return done.error();
  auto tree = tree_of(flat, model);
  if (!tree) return tree.error();
  if (const auto* node = tree->find_instance(Path{0, 0})) return *node;
  return InstanceNode{};
}

json security_instance_to_json(const InstanceNode& node) {
  return instance_json(0, 0, node, kSecurityNames);
}

}  // namespace tether::lwm2m
