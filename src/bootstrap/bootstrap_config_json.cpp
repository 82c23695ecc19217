#include "bootstrap/bootstrap_config_json.hpp"

#include <span>

#include "common/base64.hpp"
#include "common/bytes.hpp"
#include "lwm2m/json_values.hpp"
#include "server/store/credentials_json.hpp"

namespace tether::bootstrap {

namespace {
using lwm2m::Path;
using lwm2m::format::ContentFormat;
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

Result<lwm2m::Tree> tree_of(const json& flat, const lwm2m::model::Model& model) {
  auto records = lwm2m::records_from_json(flat.dump(), model);
  if (!records) return records.error();
  return lwm2m::Tree::from_records(*records);
}

Result<std::vector<Path>> paths_of(const json& j, const char* key) {
  std::vector<Path> out;
  if (!j.is_array()) return fail(std::string("\"") + key + "\" is a list of paths");
  for (const auto& p : j) {
    auto path = p.is_string() ? Path::parse(p.get<std::string>())
                              : Result<Path>(fail(std::string(key) + ": paths are strings"));
    if (!path) return path.error();
    out.push_back(*path);
  }
  return out;
}

std::optional<ContentFormat> format_named(const std::string& name) {
  static const std::pair<const char*, ContentFormat> kNames[] = {
      {"tlv", ContentFormat::kTlv},
      {"senml-json", ContentFormat::kSenmlJson},
      {"senml-cbor", ContentFormat::kSenmlCbor},
      {"lwm2m-cbor", ContentFormat::kLwm2mCbor},
  };
  for (const auto& [n, f] : kNames) {
    if (name == n) return f;
  }
  return std::nullopt;
}

const char* format_name(ContentFormat f) {
  switch (f) {
    case ContentFormat::kSenmlJson:
      return "senml-json";
    case ContentFormat::kSenmlCbor:
      return "senml-cbor";
    case ContentFormat::kLwm2mCbor:
      return "lwm2m-cbor";
    default:
      return "tlv";
  }
}

// One instance as {name: value}, the inverse of flatten_instance.
json instance_json(std::uint16_t oid, std::uint16_t iid, const lwm2m::InstanceNode& node,
                   std::span<const Alias> names) {
  lwm2m::Tree t;
  t.objects[oid].instances[iid] = node;
  const auto records = t.records();
  const json flat = json::parse(lwm2m::records_to_json(records));
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
}  // namespace

Result<BootstrapConfig> config_from_json(const std::string& endpoint, const json& j,
                                         const lwm2m::model::Model& model) {
  if (!j.is_object()) return fail("a bootstrap configuration is a JSON object");
  BootstrapConfig c;
  c.endpoint = endpoint;
  json flat = json::object();
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    const json& v = it.value();
    const Section* section = nullptr;
    for (const auto& s : kSections) {
      if (key == s.key) section = &s;
    }
    if (section != nullptr) {
      if (!v.is_object()) return fail("\"" + key + "\" maps instance IDs to instances");
      for (auto inst = v.begin(); inst != v.end(); ++inst) {
        auto iid = number_of(inst.key());
        if (!iid) return fail(key + ": instance IDs are numbers below 65535");
        auto done =
            flatten_instance(Path{section->object, *iid}, section->names, inst.value(), flat);
        if (!done) return done.error();
      }
    } else if (key == "objects") {
      // Any other object, in typed JSON with absolute paths: {"/3303/0/5701": "Cel"}.
      if (!v.is_object()) return fail("\"objects\" maps paths to values");
      for (auto e = v.begin(); e != v.end(); ++e) {
        auto plain = plain_value(e.value(), e.key());
        if (!plain) return plain.error();
        flat[e.key()] = std::move(*plain);
      }
    } else if (key == "delete") {
      auto paths = paths_of(v, "delete");
      if (!paths) return paths.error();
      c.deletes = std::move(*paths);
    } else if (key == "read") {
      auto paths = paths_of(v, "read");
      if (!paths) return paths.error();
      c.reads = std::move(*paths);
    } else if (key == "discover") {
      if (!v.is_boolean()) return fail("\"discover\" is true or false");
      c.discover = v.get<bool>();
    } else if (key == "pack") {
      if (!v.is_boolean()) return fail("\"pack\" is true or false");
      c.allow_pack = v.get<bool>();
    } else if (key == "format") {
      auto f = v.is_string() ? format_named(v.get<std::string>()) : std::nullopt;
      if (!f) return fail("\"format\" is tlv, senml-json, senml-cbor or lwm2m-cbor");
      c.format = f;
    } else if (key == "credentials") {
      auto cred = server::credentials_from_json(endpoint, v);
      if (!cred) return fail("credentials: " + cred.error().reason);
      c.credentials = std::move(*cred);
    } else if (key == "replaceBootstrapAccount") {
      if (!v.is_object() || !v.contains("security")) {
        return fail("\"replaceBootstrapAccount\" needs \"security\": the new account");
      }
      AccountReplacement rep;
      json account = json::object();
      auto done = flatten_instance(Path{0, 0}, kSecurityNames, v["security"], account);
      if (!done) return done.error();
      auto tree = tree_of(account, model);
      if (!tree) return fail("replaceBootstrapAccount: " + tree.error().reason);
      if (const auto* node = tree->find_instance(Path{0, 0})) rep.security = *node;
      if (v.contains("instanceId")) {
        auto iid = v["instanceId"].is_number_unsigned()
                       ? number_of(std::to_string(v["instanceId"].get<std::uint64_t>()))
                       : std::nullopt;
        if (!iid) return fail("\"instanceId\" is a number below 65535");
        rep.instance_id = iid;
      }
      if (v.contains("credentials")) {
        auto cred = server::credentials_from_json(endpoint, v["credentials"]);
        if (!cred) return fail("replaceBootstrapAccount.credentials: " + cred.error().reason);
        rep.credentials = std::move(*cred);
      }
      for (auto e = v.begin(); e != v.end(); ++e) {
        if (e.key() != "security" && e.key() != "instanceId" && e.key() != "credentials") {
          return fail("replaceBootstrapAccount: unknown setting \"" + e.key() + "\"");
        }
      }
      c.replace_account = std::move(rep);
    } else {
      return fail("unknown setting \"" + key + "\"");
    }
  }
  auto tree = tree_of(flat, model);
  if (!tree) return tree.error();
  c.writes = std::move(*tree);
  if (auto ok = validate(c); !ok) return ok.error();
  return c;
}

json config_to_json(const BootstrapConfig& c) {
  json j = json::object();
  j["delete"] = json::array();
  for (const auto& p : c.deletes) j["delete"].push_back(p.to_string());
  j["discover"] = c.discover;
  if (!c.reads.empty()) {
    j["read"] = json::array();
    for (const auto& p : c.reads) j["read"].push_back(p.to_string());
  }
  if (c.format) j["format"] = format_name(*c.format);
  j["pack"] = c.allow_pack;
  for (const auto& [oid, object] : c.writes.objects) {
    const Section* section = nullptr;
    for (const auto& s : kSections) {
      if (s.object == oid) section = &s;
    }
    for (const auto& [iid, instance] : object.instances) {
      if (section != nullptr) {
        j[section->key][std::to_string(iid)] = instance_json(oid, iid, instance, section->names);
        continue;
      }
      lwm2m::Tree t;
      t.objects[oid].instances[iid] = instance;
      const json flat = json::parse(lwm2m::records_to_json(t.records()));
      for (auto e = flat.begin(); e != flat.end(); ++e) j["objects"][e.key()] = e.value();
    }
  }
  if (c.credentials) {
    json cred = server::credentials_json(*c.credentials);
    cred.erase("endpoint");
    j["credentials"] = cred;
  }
  if (c.replace_account) {
    json rep{{"security", instance_json(0, 0, c.replace_account->security, kSecurityNames)}};
    if (c.replace_account->instance_id) rep["instanceId"] = *c.replace_account->instance_id;
    if (c.replace_account->credentials) {
      json cred = server::credentials_json(*c.replace_account->credentials);
      cred.erase("endpoint");
      rep["credentials"] = cred;
    }
    j["replaceBootstrapAccount"] = rep;
  }
  return j;
}

}  // namespace tether::bootstrap
