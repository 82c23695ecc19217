#include "client/security_credentials.hpp"

namespace tether::client {

namespace {
// Opaque in object versions 2.0, String in 1.0: either way, the bytes.
Bytes bytes_at(const DataModel& data, const lwm2m::Path& path) {
  auto v = data.value(path);
  if (!v) return {};
  if (const auto* b = v->get_if<Bytes>()) return *b;
  if (const auto* t = v->get_if<std::string>()) return to_bytes(*t);
  return {};
}
Bytes opaque(const DataModel& data, std::uint16_t instance, std::uint16_t resource) {
  return bytes_at(data, lwm2m::Path{oid::kSecurity, instance, resource});
}
}  // namespace

Result<tls::ClientCredentials> credentials_from_security(const DataModel& data,
                                                         std::uint16_t instance,
                                                         const std::string& host) {
  auto mode_value = data.value(lwm2m::Path{oid::kSecurity, instance, security::kMode});
  const auto mode = mode_value ? mode_value->as_number() : std::nullopt;
  if (!mode) return fail("Security instance " + std::to_string(instance) + " has no mode");
  tls::ClientCredentials c;
  const auto m = static_cast<std::int64_t>(*mode);
  switch (m) {
    case security::kModePsk:
      c.mode = tls::Mode::kPsk;
      c.psk_identity = opaque(data, instance, security::kPublicKeyOrIdentity);
      c.psk_key = opaque(data, instance, security::kSecretKey);
      if (c.psk_identity.empty() || c.psk_key.empty()) {
        return fail("PSK mode needs an identity (/0/x/3) and a key (/0/x/5)");
      }
      return c;
    case security::kModeRpk:
    case security::kModeCertificate:
      break;
    case security::kModeNoSec:
      return fail("a coaps URI with NoSec mode (3): nothing to secure it with");
    case security::kModeEst:
      return fail("certificate mode with EST (4) is not supported yet");
    default:
      return fail("unknown security mode " + std::to_string(m));
  }
  c.mode = m == security::kModeRpk ? tls::Mode::kRawPublicKey : tls::Mode::kCertificate;
  c.own_public_key = opaque(data, instance, security::kPublicKeyOrIdentity);
  c.private_key = opaque(data, instance, security::kSecretKey);
  c.server_public_key = opaque(data, instance, security::kServerPublicKey);
  if (c.private_key.empty()) return fail("the Secret Key (/0/x/5) is empty");
  if (c.server_public_key.empty() && c.mode == tls::Mode::kRawPublicKey) {
    return fail("RPK mode needs the server's public key (/0/x/4)");
  }
  if (auto usage = data.value(lwm2m::Path{oid::kSecurity, instance, security::kCertificateUsage})) {
    c.certificate_usage = static_cast<std::uint8_t>(usage->as_number().value_or(3));
  }
  // 5.2.9.4: the SNI resource is the reference identifier; else the URI's host.
  c.server_name = host;
  if (auto sni = data.value(lwm2m::Path{oid::kSecurity, instance, security::kSni})) {
    if (const auto* t = sni->get_if<std::string>(); t != nullptr && !t->empty()) c.server_name = *t;
  }
  return c;
}

Result<std::optional<oscore::ContextInput>> oscore_from_security(const DataModel& data,
                                                                 std::uint16_t security_instance) {
  auto link =
      data.value(lwm2m::Path{oid::kSecurity, security_instance, security::kOscoreSecurityMode});
  const auto* target = link ? link->get_if<lwm2m::Objlnk>() : nullptr;
  // Core TS: 65535:65535 is the link to nothing.
  if (target == nullptr || target->object_id == 65535) return std::optional<oscore::ContextInput>{};
  if (target->object_id != oid::kOscore) {
    return fail("/0/" + std::to_string(security_instance) +
                "/17 does not link to an OSCORE instance");
  }
  const std::uint16_t i = target->instance_id;
  if (!data.exists(lwm2m::Path{oid::kOscore, i})) {
    return fail("/0/" + std::to_string(security_instance) + "/17 links to /21/" +
                std::to_string(i) + ", which does not exist");
  }
  auto at = [&](std::uint16_t r) { return bytes_at(data, lwm2m::Path{oid::kOscore, i, r}); };
  oscore::ContextInput in;
  in.master_secret = at(oscore_res::kMasterSecret);
  in.sender_id = at(oscore_res::kSenderId);
  in.recipient_id = at(oscore_res::kRecipientId);
  in.master_salt = at(oscore_res::kMasterSalt);
  if (data.value(lwm2m::Path{oid::kOscore, i, oscore_res::kIdContext})) {
    in.id_context = at(oscore_res::kIdContext);
  }
  auto number = [&](std::uint16_t r, int fallback) {
    auto v = data.value(lwm2m::Path{oid::kOscore, i, r});
    auto n = v ? v->as_number() : std::nullopt;
    return n ? static_cast<int>(*n) : fallback;
  };
  in.aead = number(oscore_res::kAead, 10);
  in.hkdf = number(oscore_res::kHmac, -10);
  if (in.master_secret.empty()) return fail("/21/" + std::to_string(i) + " has no Master Secret");
  if (in.aead != 10 || in.hkdf != -10) {
    return fail("/21/" + std::to_string(i) +
                ": only AEAD 10 (AES-CCM-16-64-128) with HMAC -10 (SHA-256) is supported");
  }
  return std::optional<oscore::ContextInput>{std::move(in)};
}

Result<std::optional<binding::mqtt::CoseKey>> cose_from_security(const DataModel& data,
                                                                 std::uint16_t instance) {
  using Out = std::optional<binding::mqtt::CoseKey>;
  const std::string where = "/0/" + std::to_string(instance) + "/27";
  auto links = data.read(lwm2m::Path{oid::kSecurity, instance, security::kCoseSecurity});
  if (!links) return Out{};  // no such resource: no COSE
  std::optional<lwm2m::Objlnk> target;
  for (const auto& record : links->records()) {
    if (const auto* l = record.value.get_if<lwm2m::Objlnk>();
        l != nullptr && l->object_id != 65535) {
      target = *l;
      break;
    }
  }
  if (!target) return Out{};
  if (target->object_id != oid::kCose) return fail(where + " does not link to a COSE instance");
  const std::uint16_t i = target->instance_id;
  if (!data.exists(lwm2m::Path{oid::kCose, i})) {
    return fail(where + " links to /23/" + std::to_string(i) + ", which does not exist");
  }
  binding::mqtt::CoseKey key;
  key.kid = bytes_at(data, lwm2m::Path{oid::kCose, i, 0});
  auto algorithm = data.value(lwm2m::Path{oid::kCose, i, 1});
  auto number = algorithm ? algorithm->as_number() : std::nullopt;
  key.algorithm = number ? static_cast<int>(*number) : 10;
  auto hex = bytes_at(data, lwm2m::Path{oid::kCose, i, 2});
  auto raw = from_hex(to_string(hex));
  if (!raw) return fail("/23/" + std::to_string(i) + "/2: the key is hex");
  key.key = std::move(*raw);
  if (key.kid.empty()) return fail("/23/" + std::to_string(i) + "/0: no KID");
  if (auto ok = binding::mqtt::check_cose_key(key); !ok) {
    return fail("/23/" + std::to_string(i) + ": " + ok.error().reason);
  }
  return Out{std::move(key)};
}

Result<std::optional<MqttServerSettings>> mqtt_server_from_security(const DataModel& data,
                                                                    std::uint16_t instance) {
  using Out = std::optional<MqttServerSettings>;
  auto link = data.value(lwm2m::Path{oid::kSecurity, instance, security::kMqttServer});
  const auto* target = link ? link->get_if<lwm2m::Objlnk>() : nullptr;
  if (target == nullptr || target->object_id == 65535) return Out{};
  const std::string where = "/0/" + std::to_string(instance) + "/26";
  if (target->object_id != oid::kMqttServer) {
    return fail(where + " does not link to an MQTT Server instance");
  }
  const std::uint16_t i = target->instance_id;
  if (!data.exists(lwm2m::Path{oid::kMqttServer, i})) {
    return fail(where + " links to /24/" + std::to_string(i) + ", which does not exist");
  }
  auto value = [&](std::uint16_t r) { return data.value(lwm2m::Path{oid::kMqttServer, i, r}); };
  MqttServerSettings out;
  if (auto v = value(6); v && v->get_if<std::string>() && !v->get_if<std::string>()->empty()) {
    out.client_id = *v->get_if<std::string>();
  }
  if (auto v = value(3); v && v->get_if<bool>()) out.clean_session = *v->get_if<bool>();
  if (auto v = value(5); v && v->as_number()) {
    const double s = *v->as_number();
    if (s < 0 || s > 65535) return fail("/24/" + std::to_string(i) + "/5: keep alive 0-65535 s");
    out.keep_alive_s = static_cast<int>(s);
  }
  if (auto v = value(7); v && v->get_if<std::string>() && !v->get_if<std::string>()->empty()) {
    out.username = *v->get_if<std::string>();
  }
  if (value(8)) {
    const Bytes password = bytes_at(data, lwm2m::Path{oid::kMqttServer, i, 8});
    if (!password.empty()) out.password = to_string(password);
  }
  if (auto v = value(1); v && v->get_if<std::string>() && !v->get_if<std::string>()->empty()) {
    MqttServerSettings::Will will;
    will.topic = *v->get_if<std::string>();
    if (auto m = value(2); m && m->get_if<std::string>()) will.message = *m->get_if<std::string>();
    if (auto q = value(4); q && q->as_number()) {
      const double qos = *q->as_number();
      if (qos != 0 && qos != 1 && qos != 2) {
        return fail("/24/" + std::to_string(i) + "/4: Will QoS 0, 1 or 2");
      }
      will.qos = static_cast<int>(qos);
    }
    if (auto r = value(0); r && r->get_if<bool>()) will.retain = *r->get_if<bool>();
    out.will = std::move(will);
  }
  return Out{std::move(out)};
}

}  // namespace tether::client
