#include "bootstrap/bootstrap_config_json.hpp"

#include <span>

#include "common/base64.hpp"
#include "common/bytes.hpp"
#include "lwm2m/account_defaults.hpp"
#include "lwm2m/endpoint_name.hpp"
#include "lwm2m/object_json.hpp"
#include "server/store/credentials_json.hpp"

namespace tether::bootstrap {

namespace {
using lwm2m::Path;
using lwm2m::format::ContentFormat;
using nlohmann::json;

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

// Core TS E.1 and E.9: the resources that hold keys, by section and name.
void hide_secrets(json& instance, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    if (instance.contains(name)) instance[name] = json{{"set", true}};
  }
}

void hide_section_secrets(json& j) {
  if (j.contains("security")) {
    for (auto& [iid, instance] : j["security"].items()) {
      hide_secrets(instance, {"secretKey", "smsBindingSecretKeys"});
    }
  }
  if (j.contains("oscore")) {
    for (auto& [iid, instance] : j["oscore"].items()) hide_secrets(instance, {"masterSecret"});
  }
}

}  // namespace

Result<BootstrapConfig> config_from_json(const std::string& endpoint, const json& j,
                                         const lwm2m::model::Model& model) {
  if (!j.is_object()) return fail("a bootstrap configuration is a JSON object");
  // Whatever the source (API, --configs file, the store): a name that can be written out.
  if (auto ok = lwm2m::check_endpoint_name(endpoint); !ok) return ok.error();
  BootstrapConfig c;
  c.endpoint = endpoint;
  json flat = json::object();
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    const json& v = it.value();
    if (lwm2m::is_object_section(key)) {
      auto done = lwm2m::add_object_section(key, v, flat);
      if (!done) return done.error();
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
      auto security = lwm2m::security_instance_from_json(v["security"], model);
      if (!security) return fail("replaceBootstrapAccount: " + security.error().reason);
      rep.security = std::move(*security);
      if (v.contains("instanceId")) {
        const bool valid = v["instanceId"].is_number_unsigned() &&
                           v["instanceId"].get<std::uint64_t>() < Path::kUnassigned;
        auto iid = valid ? std::optional<std::uint16_t>(v["instanceId"].get<std::uint16_t>())
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
      if (auto done =
              lwm2m::complete_account_instance(0, rep.instance_id.value_or(0), rep.security);
          !done) {
        return fail("replaceBootstrapAccount: " + done.error().reason);
      }
      c.replace_account = std::move(rep);
    } else {
      return fail("unknown setting \"" + key + "\"");
    }
  }
  auto tree = lwm2m::tree_from_flat_json(flat, model);
  if (!tree) return tree.error();
  c.writes = std::move(*tree);
  // Core TS E.1/E.2: strict clients refuse a Bootstrap-Write missing a mandatory resource.
  if (auto done = lwm2m::complete_account_instances(c.writes); !done) return done.error();
  if (auto ok = validate(c); !ok) return ok.error();
  return c;
}

json config_to_json(const BootstrapConfig& c, server::Secrets secrets) {
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
  lwm2m::add_object_sections(c.writes, j);
  const bool hide = secrets == server::Secrets::kHide;
  if (hide) hide_section_secrets(j);
  if (c.credentials) {
    json cred = server::credentials_json(*c.credentials, secrets);
    cred.erase("endpoint");
    j["credentials"] = cred;
  }
  if (c.replace_account) {
    json rep{{"security", lwm2m::security_instance_to_json(c.replace_account->security)}};
    if (hide) hide_secrets(rep["security"], {"secretKey", "smsBindingSecretKeys"});
    if (c.replace_account->instance_id) rep["instanceId"] = *c.replace_account->instance_id;
    if (c.replace_account->credentials) {
      json cred = server::credentials_json(*c.replace_account->credentials, secrets);
      cred.erase("endpoint");
      rep["credentials"] = cred;
    }
    j["replaceBootstrapAccount"] = rep;
  }
  return j;
}

}  // namespace tether::bootstrap
