#pragma once
// Keys and certificates made in memory for tests (GnuTLS's X.509 API): a CA, server and
// client certificates with chosen names and validity, and raw keys. Nothing on disk.
#include <arpa/inet.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include <ctime>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/bytes.hpp"

namespace tether::testing {

struct TestKey {
  Bytes private_key;  // PKCS#8, PEM
  Bytes public_key;   // SubjectPublicKeyInfo, DER
};

inline Bytes take_datum(gnutls_datum_t& d) {
  Bytes out(d.data, d.data + d.size);
  gnutls_free(d.data);
  return out;
}

inline void check_gnutls(int rc, const char* what) {
  if (rc < 0) throw std::runtime_error(std::string(what) + ": " + gnutls_strerror(rc));
}

// An ECDSA key on `curve` (secp256r1 unless a test wants a weak one).
inline TestKey make_key(gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_SECP256R1) {
  gnutls_x509_privkey_t key;
  gnutls_x509_privkey_init(&key);
  check_gnutls(gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(curve), 0),
               "generate");
  TestKey out;
  gnutls_datum_t d{};
  check_gnutls(
      gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, nullptr, GNUTLS_PKCS_PLAIN, &d),
      "export key");
  out.private_key = take_datum(d);
  gnutls_pubkey_t pub;
  gnutls_pubkey_init(&pub);
  gnutls_privkey_t priv;
  gnutls_privkey_init(&priv);
  gnutls_privkey_import_x509(priv, key, 0);
  check_gnutls(gnutls_pubkey_import_privkey(pub, priv, 0, 0), "public key");
  check_gnutls(gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &d), "export public key");
  out.public_key = take_datum(d);
  gnutls_pubkey_deinit(pub);
  gnutls_privkey_deinit(priv);
  gnutls_x509_privkey_deinit(key);
  return out;
}

struct CertSpec {
  std::string common_name;
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;  // binary-encoded by the helper
  bool ca = false;
  std::time_t not_before = std::time(nullptr) - 3600;
  std::time_t not_after = std::time(nullptr) + 365 * 86400;
};

inline CertSpec named(std::string cn, std::vector<std::string> dns = {},
                      std::vector<std::string> ips = {}) {
  CertSpec s;
  s.common_name = std::move(cn);
  s.dns_names = std::move(dns);
  s.ip_addresses = std::move(ips);
  return s;
}

struct TestCert {
  TestKey key;
  Bytes pem;  // the certificate
};

// Issues a certificate for `key`, signed by `issuer` (null: self-signed).
inline TestCert make_certificate(const CertSpec& spec, TestKey key,
                                 const TestCert* issuer = nullptr) {
  auto load_key = [](const Bytes& pem) {
    gnutls_x509_privkey_t k;
    gnutls_x509_privkey_init(&k);
    gnutls_datum_t d{const_cast<unsigned char*>(pem.data()), static_cast<unsigned>(pem.size())};
    check_gnutls(gnutls_x509_privkey_import2(k, &d, GNUTLS_X509_FMT_PEM, nullptr, 0), "key");
    return k;
  };
  gnutls_x509_privkey_t subject_key = load_key(key.private_key);
  gnutls_x509_crt_t crt;
  gnutls_x509_crt_init(&crt);
  gnutls_x509_crt_set_version(crt, 3);
  static unsigned serial = 1;
  ++serial;
  gnutls_x509_crt_set_serial(crt, &serial, sizeof(serial));
  gnutls_x509_crt_set_activation_time(crt, spec.not_before);
  gnutls_x509_crt_set_expiration_time(crt, spec.not_after);
  gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, spec.common_name.data(),
                                static_cast<unsigned>(spec.common_name.size()));
  gnutls_x509_crt_set_key(crt, subject_key);
  for (const auto& n : spec.dns_names) {
    gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, n.data(),
                                         static_cast<unsigned>(n.size()), GNUTLS_FSAN_APPEND);
  }
  for (const auto& ip : spec.ip_addresses) {
    unsigned char v4[4];
    inet_pton(AF_INET, ip.c_str(), v4);
    gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, v4, 4, GNUTLS_FSAN_APPEND);
  }
  gnutls_x509_crt_set_basic_constraints(crt, spec.ca ? 1 : 0, -1);
  gnutls_x509_crt_set_key_usage(crt, spec.ca ? (GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN)
                                             : GNUTLS_KEY_DIGITAL_SIGNATURE);
  gnutls_x509_crt_set_subject_key_id(crt, key.public_key.data(), 20);
  gnutls_x509_crt_t issuer_crt = crt;
  gnutls_x509_privkey_t issuer_key = subject_key;
  if (issuer != nullptr) {
    gnutls_x509_crt_init(&issuer_crt);
    gnutls_datum_t d{const_cast<unsigned char*>(issuer->pem.data()),
                     static_cast<unsigned>(issuer->pem.size())};
    check_gnutls(gnutls_x509_crt_import(issuer_crt, &d, GNUTLS_X509_FMT_PEM), "issuer");
    issuer_key = load_key(issuer->key.private_key);
  }
  check_gnutls(gnutls_x509_crt_sign2(crt, issuer_crt, issuer_key, GNUTLS_DIG_SHA256, 0), "sign");
  gnutls_datum_t out{};
  check_gnutls(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &out), "export");
  TestCert cert{std::move(key), take_datum(out)};
  if (issuer != nullptr) {
    gnutls_x509_crt_deinit(issuer_crt);
    gnutls_x509_privkey_deinit(issuer_key);
  }
  gnutls_x509_crt_deinit(crt);
  gnutls_x509_privkey_deinit(subject_key);
  return cert;
}

// A small PKI: a CA, and certificates it issues.
struct TestPki {
  explicit TestPki(const std::string& name = "Tether Test CA")
      : ca(make_certificate(authority(name), make_key())) {}
  TestCert ca;
  static CertSpec authority(const std::string& name) {
    CertSpec s = named(name);
    s.ca = true;
    return s;
  }
  TestCert issue(CertSpec spec) const { return make_certificate(spec, make_key(), &ca); }
};

}  // namespace tether::testing
