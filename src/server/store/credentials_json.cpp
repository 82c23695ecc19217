#include "server/store/credentials_json.hpp"

#include "common/bytes.hpp"
#include "common/text.hpp"

namespace tether::server {

using nlohmann::json;

namespace {
constexpr std::size_t kMaxName = 256;
}  // namespace

json credentials_json(const Credentials& c, Secrets secrets) {
  json j{{"endpoint", c.endpoint}, {"mode", credentials_kind_name(c.kind)}};
  switch (c.kind) {
    case Credentials::Kind::kPsk:
      j["identity"] = c.psk_identity;
      if (secrets == Secrets::kInclude) {
        j["key"] = to_hex(c.psk_key);
      } else {
        j["keySet"] = !c.psk_key.empty();
      }
      break;
    case Credentials::Kind::kRpk:
      j["publicKey"] = to_hex(c.public_key);
      break;
    case Credentials::Kind::kX509:
      j["commonName"] = c.x509_common_name.empty() ? c.endpoint : c.x509_common_name;
      break;
  }
  return j;
}

Result<Credentials> credentials_from_json(const std::string& endpoint, const json& j) {
  if (!j.is_object() || !j.contains("mode") || !j["mode"].is_string()) {
    return fail("credentials need \"mode\": psk, rpk or x509");
  }
  auto kind = credentials_kind_from(j["mode"].get<std::string>());
  if (!kind) return fail("mode must be psk, rpk or x509");
  Credentials c;
  c.endpoint = endpoint;
  c.kind = *kind;
  auto hex_field = [&](const char* name) -> Result<Bytes> {
    if (!j.contains(name) || !j[name].is_string())
      return fail(std::string("\"") + name + "\" (hex) is missing");
    auto bytes = from_hex(j[name].get<std::string>());
    if (!bytes || bytes->empty()) return fail(std::string("\"") + name + "\" is not hex");
    return bytes;
  };
  switch (c.kind) {
    case Credentials::Kind::kPsk: {
      if (!j.contains("identity") || !j["identity"].is_string() ||
          j["identity"].get<std::string>().empty()) {
        return fail("a PSK needs \"identity\"");
      }
      c.psk_identity = j["identity"].get<std::string>();
      if (auto ok = check_text(c.psk_identity, "\"identity\"", kMaxName); !ok) return ok.error();
      auto key = hex_field("key");
      if (!key) return key.error();
      c.psk_key = std::move(*key);
      break;
    }
    case Credentials::Kind::kRpk: {
      auto key = hex_field("publicKey");
      if (!key) return key.error();
      c.public_key = std::move(*key);
      break;
    }
    case Credentials::Kind::kX509:
      if (j.contains("commonName")) {
        if (!j["commonName"].is_string()) return fail("\"commonName\" must be a string");
        c.x509_common_name = j["commonName"].get<std::string>();
        if (auto ok = check_text(c.x509_common_name, "\"commonName\"", kMaxName); !ok) {
          return ok.error();
        }
      }
      break;
  }
  return c;
}

}  // namespace tether::server
