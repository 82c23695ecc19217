#include "server/store/credentials_json.hpp"

#include "common/bytes.hpp"
#include "common/text.hpp"

namespace tether::server {

using nlohmann::json;

namespace {
constexpr std::size_t kMaxName = 256;
// RFC 8613 3.3: IDs are at most the nonce length minus 6 bytes (7 with AES-CCM-16-64-128).
constexpr std::size_t kMaxOscoreId = 7;
constexpr std::size_t kMaxOscoreValue = 256;

// Transport TS 5.5: {"mode": "oscore", "masterSecret", "senderId", "recipientId"} and the
// optional "masterSalt", "idContext", "aead", "hkdf", named as in the client's object 21.
Result<OscoreKeys> oscore_keys_from_json(const json& j) {
  auto hex = [&](const char* name, std::size_t max, bool required) -> Result<std::optional<Bytes>> {
    if (!j.contains(name)) {
      if (required) return fail(std::string("\"") + name + "\" (hex) is missing");
      return std::optional<Bytes>{};
    }
    if (!j[name].is_string()) return fail(std::string("\"") + name + "\" must be a hex string");
    auto bytes = from_hex(j[name].get<std::string>());
    if (!bytes) return fail(std::string("\"") + name + "\" is not hex");
    if (bytes->size() > max) {
      return fail(std::string("\"") + name + "\" is longer than " + std::to_string(max) + " bytes");
    }
    return std::optional<Bytes>{std::move(*bytes)};
  };
  OscoreKeys k;
  auto secret = hex("masterSecret", kMaxOscoreValue, true);
  if (!secret) return secret.error();
  if ((*secret)->empty()) return fail("\"masterSecret\" is empty");
  k.master_secret = std::move(**secret);
  auto sender = hex("senderId", kMaxOscoreId, true);
  if (!sender) return sender.error();
  k.sender_id = std::move(**sender);
  auto recipient = hex("recipientId", kMaxOscoreId, true);
  if (!recipient) return recipient.error();
  k.recipient_id = std::move(**recipient);
  if (k.sender_id == k.recipient_id) return fail("\"senderId\" and \"recipientId\" must differ");
  auto salt = hex("masterSalt", kMaxOscoreValue, false);
  if (!salt) return salt.error();
  if (*salt) k.master_salt = std::move(**salt);
  auto context = hex("idContext", kMaxOscoreValue, false);
  if (!context) return context.error();
  k.id_context = std::move(*context);
  for (const char* name : {"aead", "hkdf", "sequenceBound"}) {
    if (j.contains(name) && !j[name].is_number_integer()) {
      return fail(std::string("\"") + name + "\" must be an integer");
    }
  }
  k.aead = j.value("aead", 10);
  k.hkdf = j.value("hkdf", -10);
  // Only AES-CCM-16-64-128 with HKDF SHA-256 for now, the default of RFC 8613 3.2.
  if (k.aead != 10) return fail("\"aead\": only 10 (AES-CCM-16-64-128) is supported");
  if (k.hkdf != -10) return fail("\"hkdf\": only -10 (HKDF SHA-256) is supported");
  if (j.contains("sequenceBound") && j["sequenceBound"].get<std::int64_t>() >= 0) {
    k.sequence_bound = j["sequenceBound"].get<std::uint64_t>();
  }
  return k;
}
void put_oscore_keys(json& j, const OscoreKeys& k, Secrets secrets) {
  if (secrets == Secrets::kInclude) {
    j["masterSecret"] = to_hex(k.master_secret);
    j["sequenceBound"] = k.sequence_bound;
  } else {
    j["masterSecretSet"] = !k.master_secret.empty();
  }
  j["masterSalt"] = to_hex(k.master_salt);
  j["senderId"] = to_hex(k.sender_id);
  j["recipientId"] = to_hex(k.recipient_id);
  if (k.id_context) j["idContext"] = to_hex(*k.id_context);
  j["aead"] = k.aead;
  j["hkdf"] = k.hkdf;
}
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
    case Credentials::Kind::kOscore:
      put_oscore_keys(j, c.oscore, secrets);
      break;
    case Credentials::Kind::kCose:
      j["kid"] = to_hex(c.cose.kid);
      j["algorithm"] = c.cose.algorithm;
      if (secrets == Secrets::kInclude) {
        j["key"] = to_hex(c.cose.key);
      } else {
        j["keySet"] = !c.cose.key.empty();
      }
      break;
    case Credentials::Kind::kDigest:
      if (secrets == Secrets::kInclude) {
        j["password"] = c.http_password;
      } else {
        j["passwordSet"] = !c.http_password.empty();
      }
      break;
  }
  // Transport TS 5.5: OSCORE inside the (D)TLS session, beside the session's own credential.
  if (c.kind != Credentials::Kind::kOscore && c.has_oscore()) {
    json inner = json::object();
    put_oscore_keys(inner, c.oscore, secrets);
    j["oscore"] = std::move(inner);
  }
  return j;
}

Result<Credentials> credentials_from_json(const std::string& endpoint, const json& j) {
  if (!j.is_object() || !j.contains("mode") || !j["mode"].is_string()) {
    return fail("credentials need \"mode\": psk, rpk, x509, oscore, cose or digest");
  }
  auto kind = credentials_kind_from(j["mode"].get<std::string>());
  if (!kind) return fail("mode must be psk, rpk, x509, oscore, cose or digest");
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
    case Credentials::Kind::kOscore: {
      auto keys = oscore_keys_from_json(j);
      if (!keys) return keys.error();
      c.oscore = std::move(*keys);
      break;
    }
    case Credentials::Kind::kCose: {
      // Transport TS 8.6, object 23: AES-CCM-16-64-128 (algorithm 10) with a 16-byte key.
      auto kid = hex_field("kid");
      if (!kid) return kid.error();
      if (kid->size() > 32) return fail("\"kid\" is at most 32 bytes");
      auto key = hex_field("key");
      if (!key) return key.error();
      if (key->size() != 16) return fail("\"key\" is 16 bytes (AES-CCM-16-64-128)");
      if (j.contains("algorithm") &&
          (!j["algorithm"].is_number_integer() || j["algorithm"].get<std::int64_t>() != 10)) {
        return fail("\"algorithm\" is 10 (AES-CCM-16-64-128), the only one supported");
      }
      c.cose = CoseKeys{std::move(*kid), std::move(*key), 10};
      break;
    }
    case Credentials::Kind::kDigest: {
      // Seed 004 5.2.1.2: the endpoint is the username; the password is sent only hashed.
      if (!j.contains("password") || !j["password"].is_string() ||
          j["password"].get<std::string>().empty()) {
        return fail("mode digest needs \"password\"");
      }
      c.http_password = j["password"].get<std::string>();
      if (auto ok = check_text(c.http_password, "\"password\"", kMaxName); !ok) return ok.error();
      break;
    }
  }
  if (j.contains("oscore")) {
    if (c.kind == Credentials::Kind::kOscore || !j["oscore"].is_object()) {
      return fail("\"oscore\" is an object beside mode psk, rpk or x509");
    }
    auto keys = oscore_keys_from_json(j["oscore"]);
    if (!keys) return fail("\"oscore\": " + keys.error().reason);
    c.oscore = std::move(*keys);
  }
  return c;
}

}  // namespace tether::server
