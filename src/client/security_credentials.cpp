#include "client/security_credentials.hpp"

namespace tether::client {

namespace {
Bytes opaque(const DataModel& data, std::uint16_t instance, std::uint16_t resource) {
  auto v = data.value(lwm2m::Path{oid::kSecurity, instance, resource});
  if (!v) return {};
  if (const auto* b = v->get_if<Bytes>()) return *b;
  if (const auto* t = v->get_if<std::string>()) return to_bytes(*t);
  return {};
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

}  // namespace tether::client
