#include "credential_flags.hpp"

#include <memory>
#include <stdexcept>

#include "client/data_model.hpp"
#include "client/object.hpp"
#include "client/security_credentials.hpp"
#include "coap/uri.hpp"
#include "common/bytes.hpp"
#include "lwm2m/model/object_registry.hpp"
#include "service_runtime.hpp"
#include "tls/gnutls/gnutls_backend.hpp"

namespace tether::app {

namespace {
using lwm2m::Path;
using lwm2m::Value;

struct TextFlag {
  const char* flag;
  const char* key;
  std::string CredentialFlags::*member;
};
constexpr TextFlag kTextFlags[] = {
    {"--psk-identity", "pskIdentity", &CredentialFlags::psk_identity},
    {"--psk-key", "pskKey", &CredentialFlags::psk_key},
    {"--rpk-key", "rpkKey", &CredentialFlags::rpk_key},
    {"--rpk-server-key", "rpkServerKey", &CredentialFlags::rpk_server_key},
    {"--cert", "cert", &CredentialFlags::cert},
    {"--key", "key", &CredentialFlags::key},
    {"--ca", "ca", &CredentialFlags::ca},
    {"--server-cert", "serverCert", &CredentialFlags::server_cert},
    {"--sni", "sni", &CredentialFlags::sni},
    {"--trust", "trust", &CredentialFlags::trust},
};
}  // namespace

const char* const kCredentialHelp =
    "credentials for a coaps URI (Transport TS 5.2.9):\n"
    "  --psk-identity ID --psk-key HEX          PSK mode\n"
    "  --rpk-key FILE --rpk-server-key FILE     raw public keys (PEM or DER)\n"
    "  --cert FILE --key FILE (--ca FILE | --server-cert FILE) [--cert-usage 0-3]\n"
    "                   [--sni NAME]           X.509; --ca is a trust anchor (usage 2),\n"
    "                                          --server-cert the server's own (usage 3)\n"
    "  --trust FILE     PEM trust anchors for usages 0 and 1 (default: the system's store);\n"
    "                   e.g. --cert-usage 1 --server-cert S.pem checks S against them\n";

void add_credential_options(OptionTable& table, CredentialFlags& f) {
  for (const auto& t : kTextFlags) table.text(t.flag, t.key, f.*(t.member));
  table.number("--cert-usage", "certUsage", f.cert_usage, 3);
}

bool take_credential_flag(ArgReader& r, CredentialFlags& f) {
  for (const auto& t : kTextFlags) {
    if (r.is(t.flag)) {
      f.*(t.member) = r.value();
      return true;
    }
  }
  if (r.is("--cert-usage")) {
    f.cert_usage = static_cast<std::uint32_t>(parse_number(r.value(), 3));
    return true;
  }
  return false;
}

void add_credentials(lwm2m::Tree& tree, std::uint16_t instance, const CredentialFlags& s) {
  namespace sec = client::security;
  auto put = [&](std::uint16_t r, Value v) { (void)tree.set(Path{0, instance, r}, std::move(v)); };
  if (!s.psk_identity.empty()) {
    auto key = from_hex(s.psk_key);
    if (!key || key->empty()) throw std::invalid_argument("--psk-key takes the key in hex");
    put(sec::kMode, Value(sec::kModePsk));
    put(sec::kPublicKeyOrIdentity, Value(to_bytes(s.psk_identity)));
    put(sec::kSecretKey, Value(*key));
    return;
  }
  if (!s.rpk_key.empty()) {
    if (s.rpk_server_key.empty()) throw std::invalid_argument("--rpk-key needs --rpk-server-key");
    const Bytes key = read_binary_file(s.rpk_key);
    auto own = tls::public_key_of(key);
    auto theirs = tls::public_key_of(read_binary_file(s.rpk_server_key));
    if (!own) throw std::invalid_argument(s.rpk_key + ": " + own.error().reason);
    if (!theirs) throw std::invalid_argument(s.rpk_server_key + ": " + theirs.error().reason);
    put(sec::kMode, Value(sec::kModeRpk));
    put(sec::kPublicKeyOrIdentity, Value(*own));
    put(sec::kSecretKey, Value(key));
    put(sec::kServerPublicKey, Value(*theirs));
    return;
  }
  if (!s.cert.empty()) {
    if (s.key.empty() || (s.ca.empty() && s.server_cert.empty())) {
      throw std::invalid_argument("--cert needs --key, and --ca or --server-cert");
    }
    put(sec::kMode, Value(sec::kModeCertificate));
    put(sec::kPublicKeyOrIdentity, Value(read_binary_file(s.cert)));
    put(sec::kSecretKey, Value(read_binary_file(s.key)));
    put(sec::kServerPublicKey, Value(read_binary_file(s.ca.empty() ? s.server_cert : s.ca)));
    const std::uint32_t usage = s.cert_usage != 99 ? s.cert_usage : (s.ca.empty() ? 3 : 2);
    put(sec::kCertificateUsage, Value(std::int64_t{usage}));
    if (!s.sni.empty()) put(sec::kSni, Value(s.sni));
    return;
  }
  throw std::invalid_argument(
      "a coaps URI needs credentials: --psk-identity/--psk-key, --rpk-key/--rpk-server-key, "
      "or --cert/--key with --ca or --server-cert");
}

tls::ClientCredentials client_credentials(const CredentialFlags& f, const std::string& uri) {
  auto parsed = coap::parse_uri(uri);
  if (!parsed) throw std::invalid_argument(uri + ": " + parsed.error().reason);
  const auto models = lwm2m::model::ObjectRegistry::with_builtin();
  client::DataModel data(models);
  (void)data.add(std::make_unique<client::DataObject>(client::oid::kSecurity));
  lwm2m::Tree tree;
  (void)tree.set(Path{0, 0, client::security::kUri}, Value(uri));
  add_credentials(tree, 0, f);
  if (auto ok = data.put(tree); !ok) throw std::invalid_argument(ok.error().reason);
  auto creds = client::credentials_from_security(data, 0, parsed->host);
  if (!creds) throw std::invalid_argument(creds.error().reason);
  if (!f.trust.empty()) creds->trust_anchors.push_back(read_binary_file(f.trust));
  return *creds;
}

}  // namespace tether::app
