#include "tls/gnutls/gnutls_backend.hpp"

#include <arpa/inet.h>
#include <gnutls/abstract.h>
#include <gnutls/dtls.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <string>
#include <vector>

#include "tls/dtls_record_session.hpp"

namespace tether::tls {

namespace {

// Transport TS 5.2.2-5.2.3 and 5.2.9: clients offer only CCM_8 (they SHOULD NOT use CBC);
// servers also accept the CBC_SHA256 suites. secp256r1 is the only group.
constexpr const char* kVersions = "+VERS-DTLS1.2:+VERS-TLS1.2";
constexpr const char* kClientPsk = ":+PSK:+AES-128-CCM-8:+AEAD:+SIGN-ECDSA-SHA256";
constexpr const char* kClientEcdsa =
    ":+ECDHE-ECDSA:+AES-128-CCM-8:+AEAD:+GROUP-SECP256R1:+SIGN-ECDSA-SHA256";
constexpr const char* kServerSuites =
    ":+PSK:+ECDHE-ECDSA:+AES-128-CCM-8:+AES-128-CBC:+AEAD:+SHA256:+GROUP-SECP256R1"
    ":+SIGN-ECDSA-SHA256:+CTYPE-CLI-X509:+CTYPE-SRV-X509:+CTYPE-CLI-RAWPK:+CTYPE-SRV-RAWPK"
    ":%SERVER_PRECEDENCE";
// HTTPS (seed 004) talks to web servers and browsers, not constrained devices: GnuTLS's
// usual TLS 1.2 suites (AES-GCM, ChaCha20-Poly1305, ...), the certificate checks ours.
constexpr const char* kWeb = "NORMAL:-VERS-ALL:+VERS-TLS1.2";

gnutls_datum_t datum(ByteView b) {
  return gnutls_datum_t{const_cast<unsigned char*>(b.data()), static_cast<unsigned>(b.size())};
}

bool is_pem(ByteView b) {
  static constexpr std::string_view kBegin = "-----BEGIN";
  std::string_view text(reinterpret_cast<const char*>(b.data()), b.size());
  return text.find(kBegin) != std::string_view::npos;
}

gnutls_x509_crt_fmt_t format_of(ByteView b) {
  return is_pem(b) ? GNUTLS_X509_FMT_PEM : GNUTLS_X509_FMT_DER;
}

Error gnutls_error(const std::string& what, int rc) {
  return fail(what + ": " + gnutls_strerror(rc));
}

Bytes take(gnutls_datum_t& d) {
  Bytes out(d.data, d.data + d.size);
  gnutls_free(d.data);
  d.data = nullptr;
  return out;
}

// --- keys and certificates ----------------------------------------------------

struct PrivKey {
  gnutls_privkey_t key = nullptr;
  ~PrivKey() {
    if (key != nullptr) gnutls_privkey_deinit(key);
  }
  gnutls_privkey_t release() {
    auto k = key;
    key = nullptr;
    return k;
  }
};

Result<Ok> import_private_key(PrivKey& out, ByteView bytes) {
  if (bytes.empty()) return fail("no private key");
  gnutls_privkey_init(&out.key);
  auto d = datum(bytes);
  const int rc = gnutls_privkey_import_x509_raw(out.key, &d, format_of(bytes), nullptr, 0);
  if (rc < 0) return gnutls_error("private key", rc);
  return Ok{};
}

// A GnuTLS object of handle type T, made by Init and freed with the scope by Deinit.
template <typename T, int (*Init)(T*), void (*Deinit)(T)>
struct Owned {
  T handle = nullptr;
  Owned() { Init(&handle); }
  ~Owned() { Deinit(handle); }
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
};
using PubKey = Owned<gnutls_pubkey_t, gnutls_pubkey_init, gnutls_pubkey_deinit>;
using Crt = Owned<gnutls_x509_crt_t, gnutls_x509_crt_init, gnutls_x509_crt_deinit>;

Result<Bytes> export_spki(gnutls_pubkey_t key) {
  gnutls_datum_t out{};
  const int rc = gnutls_pubkey_export2(key, GNUTLS_X509_FMT_DER, &out);
  if (rc < 0) return gnutls_error("public key export", rc);
  return take(out);
}

Result<Bytes> certificate_der(ByteView bytes) {
  Crt c;
  auto d = datum(bytes);
  int rc = gnutls_x509_crt_import(c.handle, &d, format_of(bytes));
  if (rc < 0) return gnutls_error("certificate", rc);
  gnutls_datum_t out{};
  rc = gnutls_x509_crt_export2(c.handle, GNUTLS_X509_FMT_DER, &out);
  if (rc < 0) return gnutls_error("certificate export", rc);
  return take(out);
}

// The subject CN of a certificate (empty if none).
std::string common_name(gnutls_x509_crt_t crt) {
  char buf[256];
  size_t size = sizeof(buf);
  if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, buf, &size) < 0) {
    return {};
  }
  return std::string(buf, size);
}

Result<Bytes> spki_of_certificate(gnutls_x509_crt_t crt) {
  PubKey pk;
  const int rc = gnutls_pubkey_import_x509(pk.handle, crt, 0);
  if (rc < 0) return gnutls_error("certificate key", rc);
  return export_spki(pk.handle);
}

// A trust list holding `anchors` (DER or PEM, several per PEM blob).
struct TrustList {
  gnutls_x509_trust_list_t list = nullptr;
  TrustList() { gnutls_x509_trust_list_init(&list, 0); }
  ~TrustList() { gnutls_x509_trust_list_deinit(list, 1); }
  TrustList(const TrustList&) = delete;
  TrustList& operator=(const TrustList&) = delete;
  int add(ByteView anchor) {
    auto d = datum(anchor);
    return gnutls_x509_trust_list_add_trust_mem(list, &d, nullptr, format_of(anchor), 0, 0);
  }
};

// The alert a failed certificate verification status deserves.
std::uint8_t alert_for_status(unsigned status) {
  if (status & (GNUTLS_CERT_EXPIRED | GNUTLS_CERT_NOT_ACTIVATED)) return alert::kCertificateExpired;
  if (status & GNUTLS_CERT_SIGNER_NOT_FOUND) return alert::kUnknownCa;
  if (status & GNUTLS_CERT_REVOKED) return alert::kCertificateRevoked;
  return alert::kBadCertificate;
}

std::string status_text(unsigned status) {
  gnutls_datum_t out{};
  if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0) < 0) {
    return "certificate verification failed";
  }
  Bytes b = take(out);
  return std::string(b.begin(), b.end());
}

struct Verdict {
  bool ok = true;
  std::uint8_t alert = 0;
  std::string reason;
};
Verdict refuse(std::uint8_t alert, std::string reason) {
  return Verdict{false, alert, std::move(reason)};
}

// Transport TS 5.2.3: no elliptic curve under 255 bits. `algorithm` and `bits` as GnuTLS
// reports them for a key or a certificate.
Verdict check_key_strength(int algorithm, unsigned bits) {
  if (algorithm == GNUTLS_PK_ECDSA && bits < 255) {
    return refuse(alert::kInsufficientSecurity,
                  "an elliptic curve of " + std::to_string(bits) + " bits is too weak");
  }
  return {};
}

// PKIX path validation of `chain` (DER certificates, end entity first) against `anchors`,
// with the RFC 6125 name check when `name` is set.
Verdict validate_path(const std::vector<Bytes>& chain, const std::vector<ByteView>& anchors,
                      const std::string& name, bool system_trust = false) {
  TrustList trust;
  for (auto a : anchors) {
    if (trust.add(a) < 0) return refuse(alert::kUnknownCa, "a trust anchor does not parse");
  }
  if (system_trust && gnutls_x509_trust_list_add_system_trust(trust.list, 0, 0) <= 0) {
    return refuse(alert::kUnknownCa, "the system's trust store is empty or unreadable");
  }
  std::vector<gnutls_x509_crt_t> certs;
  std::vector<std::unique_ptr<Crt>> owned;
  for (const auto& der : chain) {
    owned.push_back(std::make_unique<Crt>());
    auto d = datum(der);
    if (gnutls_x509_crt_import(owned.back()->handle, &d, GNUTLS_X509_FMT_DER) < 0) {
      return refuse(alert::kBadCertificate, "the peer's certificate does not parse");
    }
    certs.push_back(owned.back()->handle);
  }
  unsigned status = 0;
  const int rc = gnutls_x509_trust_list_verify_crt2(trust.list, certs.data(),
                                                    static_cast<unsigned>(certs.size()), nullptr, 0,
                                                    0, &status, nullptr);
  if (rc < 0) return refuse(alert::kBadCertificate, gnutls_strerror(rc));
  if (status != 0) return refuse(alert_for_status(status), status_text(status));
  if (name.empty()) return {};
  in6_addr v6{};
  in_addr v4{};
  bool matches = false;
  if (inet_pton(AF_INET6, name.c_str(), &v6) == 1) {
    matches = gnutls_x509_crt_check_ip(certs[0], v6.s6_addr, 16, 0) != 0;
  } else if (inet_pton(AF_INET, name.c_str(), &v4) == 1) {
    matches = gnutls_x509_crt_check_ip(certs[0], reinterpret_cast<unsigned char*>(&v4), 4, 0) != 0;
  } else {
    matches = gnutls_x509_crt_check_hostname2(certs[0], name.c_str(), 0) != 0;
  }
  if (!matches) {
    return refuse(alert::kBadCertificate,
                  "the server certificate is not for \"" + name + "\" (RFC 6125)");
  }
  return {};
}

// Whether `reference` (the Server Public Key resource: a certificate or a key) designates
// the end-entity certificate `ee`.
bool designates(ByteView reference, const Bytes& ee_der, gnutls_x509_crt_t ee) {
  if (auto der = certificate_der(reference); der) return *der == ee_der;
  auto theirs = public_key_of(reference);
  auto ours = spki_of_certificate(ee);
  return theirs && ours && *theirs == *ours;
}

}  // namespace

Result<Bytes> public_key_of(ByteView bytes) {
  if (bytes.empty()) return fail("no key");
  // A certificate?
  {
    Crt c;
    auto d = datum(bytes);
    if (gnutls_x509_crt_import(c.handle, &d, format_of(bytes)) >= 0)
      return spki_of_certificate(c.handle);
  }
  // A public key (SubjectPublicKeyInfo)?
  {
    PubKey pk;
    auto d = datum(bytes);
    if (gnutls_pubkey_import(pk.handle, &d, format_of(bytes)) >= 0) return export_spki(pk.handle);
  }
  // A private key.
  PrivKey priv;
  if (auto ok = import_private_key(priv, bytes); !ok) {
    return fail("neither a certificate, a public key nor a private key");
  }
  PubKey pk;
  const int rc = gnutls_pubkey_import_privkey(pk.handle, priv.key, 0, 0);
  if (rc < 0) return gnutls_error("public key of the private key", rc);
  return export_spki(pk.handle);
}

// --- the backend's shared state -------------------------------------------------

struct GnutlsBackend::Impl {
  GnutlsOptions options;
  gnutls_priority_t server_priority = nullptr;
  gnutls_priority_t client_psk = nullptr;
  gnutls_priority_t client_rpk = nullptr;
  gnutls_priority_t client_x509 = nullptr;
  gnutls_priority_t client_web = nullptr;
  gnutls_psk_server_credentials_t server_psk = nullptr;
  gnutls_certificate_credentials_t server_certs = nullptr;
  gnutls_datum_t cookie_key{};
  gnutls_datum_t previous_cookie_key{};
  std::optional<Instant> cookie_key_since;
  gnutls_datum_t ticket_key{};

  explicit Impl(GnutlsOptions o) : options(std::move(o)) {
    if (gnutls_global_init() < 0) throw std::runtime_error("gnutls_global_init failed");
    const std::string v = std::string("NONE:") + kVersions;
    init_priority(client_psk, v + kClientPsk);
    init_priority(client_rpk, v + kClientEcdsa + ":+CTYPE-CLI-RAWPK:+CTYPE-SRV-RAWPK");
    init_priority(client_x509, v + kClientEcdsa + ":+CTYPE-CLI-X509:+CTYPE-SRV-X509");
    init_priority(client_web, kWeb);
    if (options.server) init_server();
  }
  ~Impl() {
    for (auto* p : {server_priority, client_psk, client_rpk, client_x509, client_web}) {
      if (p != nullptr) gnutls_priority_deinit(p);
    }
    if (server_psk != nullptr) gnutls_psk_free_server_credentials(server_psk);
    if (server_certs != nullptr) gnutls_certificate_free_credentials(server_certs);
    for (auto* k : {&cookie_key, &previous_cookie_key, &ticket_key}) gnutls_free(k->data);
    gnutls_global_deinit();
  }

  static void init_priority(gnutls_priority_t& p, const std::string& text) {
    const char* where = nullptr;
    const int rc = gnutls_priority_init2(&p, text.c_str(), &where, 0);
    if (rc < 0) {
      throw std::runtime_error("GnuTLS priority \"" + text + "\": " + gnutls_strerror(rc));
    }
  }

  void init_server() {
    const auto& sc = *options.server;
    init_priority(server_priority, options.web ? std::string(kWeb) + ":%SERVER_PRECEDENCE"
                                               : std::string("NONE:") + kVersions + kServerSuites);
    gnutls_psk_allocate_server_credentials(&server_psk);
    gnutls_psk_set_server_credentials_function2(server_psk, &Impl::psk_key_callback);
    gnutls_certificate_allocate_credentials(&server_certs);
    if (!sc.private_key.empty()) {
      // The raw public key: our key's public half (RFC 7250).
      auto spki = public_key_of(sc.private_key);
      if (!spki) throw std::runtime_error("server key: " + spki.error().reason);
      add_key(server_certs, *spki, sc.private_key, true);
      if (!sc.certificate_chain.empty()) {
        add_key(server_certs, sc.certificate_chain, sc.private_key, false);
      }
    }
    for (const auto& anchor : sc.client_trust_anchors) {
      auto d = datum(anchor);
      if (gnutls_certificate_set_x509_trust_mem(server_certs, &d, format_of(anchor)) < 0) {
        throw std::runtime_error("a client trust anchor does not parse");
      }
    }
    if (options.ticket_key.empty()) {
      gnutls_session_ticket_key_generate(&ticket_key);
    } else {  // of kTicketKeySize bytes (checked)
      ticket_key.data = static_cast<unsigned char*>(gnutls_malloc(kTicketKeySize));
      if (ticket_key.data == nullptr) throw std::runtime_error("out of memory");
      std::memcpy(ticket_key.data, options.ticket_key.data(), kTicketKeySize);
      ticket_key.size = kTicketKeySize;
    }
  }

  // Adds a key pair to certificate credentials: `pub` is a SubjectPublicKeyInfo (raw) or a
  // certificate chain. Throws on bad input (configuration).
  static void add_key(gnutls_certificate_credentials_t creds, ByteView pub, ByteView key,
                      bool raw) {
    auto r = try_add_key(creds, pub, key, raw);
    if (!r) throw std::runtime_error(r.error().reason);
  }
  static Result<Ok> try_add_key(gnutls_certificate_credentials_t creds, ByteView pub, ByteView key,
                                bool raw) {
    PrivKey priv;
    if (auto ok = import_private_key(priv, key); !ok) return ok.error();
    std::vector<gnutls_pcert_st> pcerts(raw ? 1 : 16);
    auto d = datum(pub);
    int rc = 0;
    unsigned n = static_cast<unsigned>(pcerts.size());
    if (raw) {
      rc = gnutls_pcert_import_rawpk_raw(pcerts.data(), &d, format_of(pub), 0, 0);
      n = 1;
    } else {
      rc = gnutls_pcert_list_import_x509_raw(pcerts.data(), &n, &d, format_of(pub), 0);
    }
    if (rc < 0) return gnutls_error(raw ? "raw public key" : "certificate chain", rc);
    rc =
        gnutls_certificate_set_key(creds, nullptr, 0, pcerts.data(), static_cast<int>(n), priv.key);
    if (rc < 0) {
      for (unsigned i = 0; i < n; ++i) gnutls_pcert_deinit(&pcerts[i]);
      return gnutls_error("key pair", rc);
    }
    priv.release();  // now owned by the credentials
    return Ok{};
  }

  static int psk_key_callback(gnutls_session_t s, const gnutls_datum_t* identity,
                              gnutls_datum_t* key);

  void rotate_cookie_key_if_due(Instant now) {
    if (cookie_key_since && now - *cookie_key_since < options.cookie_key_lifetime) return;
    gnutls_free(previous_cookie_key.data);
    previous_cookie_key = cookie_key;
    cookie_key = gnutls_datum_t{};
    gnutls_key_generate(&cookie_key, GNUTLS_COOKIE_KEY_SIZE);
    cookie_key_since = now;
  }
};

// --- one session --------------------------------------------------------------

class GnutlsSession final : public Session {
 public:
  GnutlsSession(GnutlsBackend::Impl& impl, Role role, Carriage carriage)
      : impl_(impl), role_(role), carriage_(carriage) {}
  ~GnutlsSession() override {
    if (session_ != nullptr) gnutls_deinit(session_);
    if (psk_ != nullptr) gnutls_psk_free_client_credentials(psk_);
    if (certs_ != nullptr) gnutls_certificate_free_credentials(certs_);
  }

  Result<Ok> init_client(const ClientCredentials& c, ByteView resume) {
    client_ = c;
    if (auto ok = init_session(GNUTLS_CLIENT); !ok) return ok;
    int rc = 0;
    switch (c.mode) {
      case Mode::kPsk: {
        if (c.psk_identity.empty() || c.psk_identity.size() > 128) {
          return fail("the PSK identity must have 1 to 128 bytes");
        }
        if (c.psk_key.empty() || c.psk_key.size() > 64) {
          return fail("the PSK must have 1 to 64 bytes");
        }
        gnutls_psk_allocate_client_credentials(&psk_);
        auto id = datum(c.psk_identity);
        auto key = datum(c.psk_key);
        rc = gnutls_psk_set_client_credentials2(psk_, &id, &key, GNUTLS_PSK_KEY_RAW);
        if (rc < 0) return gnutls_error("PSK credentials", rc);
        gnutls_credentials_set(session_, GNUTLS_CRD_PSK, psk_);
        gnutls_priority_set(session_, impl_.client_psk);
        break;
      }
      case Mode::kRawPublicKey:
      case Mode::kCertificate: {
        const bool raw = c.mode == Mode::kRawPublicKey;
        gnutls_certificate_allocate_credentials(&certs_);
        Bytes pub = c.own_public_key;
        if (raw && pub.empty()) {
          auto derived = public_key_of(c.private_key);
          if (!derived) return derived.error();
          pub = *derived;
        }
        const bool anonymous = !raw && pub.empty() && c.private_key.empty();
        if (!anonymous) {
          if (auto ok = GnutlsBackend::Impl::try_add_key(certs_, pub, c.private_key, raw); !ok) {
            return ok;
          }
        }
        gnutls_credentials_set(session_, GNUTLS_CRD_CERTIFICATE, certs_);
        gnutls_priority_set(session_, raw      ? impl_.client_rpk
                                      : c.pkix ? impl_.client_web
                                               : impl_.client_x509);
        gnutls_session_set_verify_function(session_, &GnutlsSession::verify_callback);
        // 5.2.9.3: the client sets SNI (a DNS name only, RFC 6066 3).
        in6_addr any{};
        if (!raw && !c.server_name.empty() &&
            inet_pton(AF_INET, c.server_name.c_str(), &any) != 1 &&
            inet_pton(AF_INET6, c.server_name.c_str(), &any) != 1) {
          gnutls_server_name_set(session_, GNUTLS_NAME_DNS, c.server_name.data(),
                                 c.server_name.size());
        }
        break;
      }
    }
    if (!resume.empty()) {
      (void)gnutls_session_set_data(session_, resume.data(), resume.size());
    }
    return Ok{};
  }

  Result<Ok> init_server() {
    if (auto ok = init_session(GNUTLS_SERVER); !ok) return ok;
    gnutls_priority_set(session_, impl_.server_priority);
    gnutls_credentials_set(session_, GNUTLS_CRD_PSK, impl_.server_psk);
    gnutls_credentials_set(session_, GNUTLS_CRD_CERTIFICATE, impl_.server_certs);
    // Optional client authentication asks for a certificate only when one could chain.
    const auto& sc = *impl_.options.server;
    const auto ask = sc.require_client_authentication  ? GNUTLS_CERT_REQUIRE
                     : sc.client_trust_anchors.empty() ? GNUTLS_CERT_IGNORE
                                                       : GNUTLS_CERT_REQUEST;
    gnutls_certificate_server_set_request(session_, ask);
    if (impl_.options.session_tickets) {
      gnutls_session_ticket_enable_server(session_, &impl_.ticket_key);
    }
    gnutls_session_set_verify_function(session_, &GnutlsSession::verify_callback);
    return Ok{};
  }

  gnutls_session_t handle() { return session_; }

  // --- Session ------------------------------------------------------------------

  void start(Instant now) override {
    now_ = now;
    advance();
  }
  void feed(ByteView bytes, Instant now) override {
    now_ = now;
    if (state_ != State::kHandshaking && state_ != State::kEstablished) return;
    // An empty datagram holds no record; handed to GnuTLS it would read as end of stream.
    if (bytes.empty()) return;
    if (carriage_ == Carriage::kDatagram) {
      in_datagrams_.emplace_back(bytes.begin(), bytes.end());
    } else {
      in_stream_.insert(in_stream_.end(), bytes.begin(), bytes.end());
    }
    advance();
  }
  void on_timer(Instant now) override {
    now_ = now;
    if (state_ == State::kHandshaking) advance();
  }
  Result<Ok> write(ByteView plaintext) override {
    if (state_ != State::kEstablished) return fail("the session is not established");
    const ssize_t n = gnutls_record_send(session_, plaintext.data(), plaintext.size());
    if (n < 0) return gnutls_error("record", static_cast<int>(n));
    return Ok{};
  }
  void close() override {
    if (state_ == State::kEstablished) (void)gnutls_bye(session_, GNUTLS_SHUT_WR);
    state_ = State::kClosed;
    failure_.reason = "closed by us";
  }
  std::optional<Bytes> poll_output() override { return pop(out_); }
  std::optional<Bytes> poll_plaintext() override { return pop(plaintext_); }
  std::optional<Instant> deadline() const override {
    if (state_ != State::kHandshaking || carriage_ != Carriage::kDatagram) return std::nullopt;
    // Never due again at once: GnuTLS may report 0 ms left before its own clock moves on.
    const unsigned left = gnutls_dtls_get_timeout(session_);
    return now_ + Duration{std::max(left, 1u)};
  }
  State state() const override { return state_; }
  const Failure& failure() const override { return failure_; }
  const PeerIdentity& peer_identity() const override { return identity_; }
  Bytes resumption_data() const override {
    gnutls_datum_t d{};
    if (gnutls_session_get_data2(session_, &d) < 0) return {};
    return take(d);
  }

  // DTLS with AES-128-CCM-8, once the peer sent data under the new keys: it has our last
  // flight (RFC 6347 4.2.4 needs no more repeats of it), so the keys alone carry on.
  std::unique_ptr<Session> compact() override {
    if (!compactable_ || state_ != State::kEstablished || !heard_) return nullptr;
    // TLS, and DTLS under a suite the lean session does not know, stay on GnuTLS for good.
    if (carriage_ != Carriage::kDatagram ||
        gnutls_cipher_get(session_) != GNUTLS_CIPHER_AES_128_CCM_8) {
      compactable_ = false;
      return nullptr;
    }
    if (!in_datagrams_.empty() || !out_.empty() || !plaintext_.empty() ||
        gnutls_record_check_pending(session_) != 0) {
      return nullptr;
    }
    constexpr std::uint64_t kLow48 = (std::uint64_t{1} << 48) - 1;
    const auto epoch = static_cast<std::uint16_t>(*heard_ >> 48);
    if (epoch == 0 || epoch != static_cast<std::uint16_t>(sent_highest_ >> 48)) return nullptr;
    DtlsKeys keys;
    keys.epoch = epoch;
    std::uint64_t gnutls_next = 0;
    for (const bool read : {true, false}) {
      gnutls_datum_t iv{};
      gnutls_datum_t key{};
      std::array<unsigned char, 8> sequence{};
      if (gnutls_record_get_state(session_, read ? 1 : 0, nullptr, &iv, &key, sequence.data()) <
              0 ||
          key.size != keys.read_key.size() || iv.size != keys.read_salt.size()) {
        return nullptr;
      }
      std::copy_n(key.data, key.size, read ? keys.read_key.data() : keys.write_key.data());
      std::copy_n(iv.data, iv.size, read ? keys.read_salt.data() : keys.write_salt.data());
      if (!read) {
        for (auto b : sequence) gnutls_next = (gnutls_next << 8) | b;
      }
    }
    // The records GnuTLS sent are all ours to see; its own counter is taken too when it is
    // ahead, so a sequence number is never used twice (a gap is harmless).
    keys.write_sequence = std::max((sent_highest_ & kLow48) + 1, gnutls_next & kLow48);
    // Everything up to the last record GnuTLS took counts as seen: no replay of it.
    keys.read_highest = *heard_ & kLow48;
    keys.read_window = ~std::uint64_t{0};
    // What GnuTLS would have refused to send in one record stays refused.
    keys.max_plaintext = std::min<std::size_t>(gnutls_record_get_max_size(session_),
                                               gnutls_dtls_get_data_mtu(session_));
    return std::make_unique<DtlsRecordSession>(keys, identity_);
  }

  // Datagrams or bytes GnuTLS pulls.
  ssize_t pull(void* buf, size_t size) {
    if (carriage_ == Carriage::kDatagram) {
      if (in_datagrams_.empty()) return starve();
      Bytes d = std::move(in_datagrams_.front());
      in_datagrams_.pop_front();
      const size_t n = std::min(size, d.size());
      std::memcpy(buf, d.data(), n);
      return static_cast<ssize_t>(n);
    }
    if (in_offset_ >= in_stream_.size()) return starve();
    const size_t n = std::min(size, in_stream_.size() - in_offset_);
    std::memcpy(buf, in_stream_.data() + in_offset_, n);
    in_offset_ += n;
    if (in_offset_ == in_stream_.size()) {
      in_stream_.clear();
      in_offset_ = 0;
    }
    return static_cast<ssize_t>(n);
  }
  bool has_input() const {
    return carriage_ == Carriage::kDatagram ? !in_datagrams_.empty()
                                            : in_offset_ < in_stream_.size();
  }
  void push(Bytes bytes) {
    if (carriage_ == Carriage::kDatagram) note_sent(bytes);
    out_.push_back(std::move(bytes));
  }
  // The highest epoch and sequence number GnuTLS sent (RFC 6347 4.1), for compact().
  void note_sent(ByteView datagram) {
    std::size_t at = 0;
    while (auto h = DtlsRecordHeader::parse(datagram.subspan(at))) {
      sent_highest_ = std::max(sent_highest_, (std::uint64_t{h->epoch} << 48) | h->sequence);
      at += DtlsRecordHeader::kSize + h->length;
      if (at >= datagram.size()) break;
    }
  }
  GnutlsBackend::Impl& impl() { return impl_; }
  void set_verify_alert(std::uint8_t a, std::string reason) {
    verify_alert_ = a;
    verify_reason_ = std::move(reason);
  }

 private:
  Result<Ok> init_session(unsigned role_flag) {
    unsigned flags = role_flag | GNUTLS_NONBLOCK | GNUTLS_ENABLE_RAWPK;
    if (carriage_ == Carriage::kDatagram) flags |= GNUTLS_DATAGRAM;
    const int rc = gnutls_init(&session_, flags);
    if (rc < 0) return gnutls_error("gnutls_init", rc);
    gnutls_session_set_ptr(session_, this);
    gnutls_transport_set_ptr(session_, this);
    gnutls_transport_set_pull_function(session_, &GnutlsSession::pull_callback);
    gnutls_transport_set_pull_timeout_function(session_, &GnutlsSession::pull_timeout_callback);
    gnutls_transport_set_push_function(session_, &GnutlsSession::push_callback);
    gnutls_transport_set_vec_push_function(session_, &GnutlsSession::vec_push_callback);
    if (carriage_ == Carriage::kDatagram) {
      gnutls_dtls_set_mtu(session_, impl_.options.mtu);
      gnutls_dtls_set_timeouts(session_, static_cast<unsigned>(impl_.options.retransmit.count()),
                               static_cast<unsigned>(impl_.options.handshake_timeout.count()));
    } else {
      gnutls_handshake_set_timeout(session_, GNUTLS_INDEFINITE_TIMEOUT);
    }
    return Ok{};
  }

  ssize_t starve() {
    starved_ = true;
    gnutls_transport_set_errno(session_, EAGAIN);
    return -1;
  }

  // GnuTLS handles one record per call, and reports E_AGAIN even with records of an
  // already pulled datagram still buffered: call again until it starves for input.
  void advance() {
    if (state_ == State::kHandshaking) {
      for (int i = 0; i < 64; ++i) {
        starved_ = false;
        const int rc = gnutls_handshake(session_);
        if (rc == GNUTLS_E_SUCCESS) {
          established();
          break;
        }
        if (rc == GNUTLS_E_AGAIN && starved_) return;
        if (gnutls_error_is_fatal(rc) != 0) {
          failed(rc);
          return;
        }
      }
    }
    if (state_ != State::kEstablished) return;
    for (int i = 0; i < 1024; ++i) {
      starved_ = false;
      // The decrypted record as GnuTLS holds it: copied once, no buffer of our own.
      gnutls_packet_t packet = nullptr;
      const ssize_t n = gnutls_record_recv_packet(session_, &packet);
      if (packet != nullptr) {
        gnutls_datum_t d{};
        std::array<unsigned char, 8> sequence{};
        gnutls_packet_get(packet, &d, sequence.data());
        if (n > 0) {
          plaintext_.emplace_back(d.data, d.data + d.size);
          std::uint64_t seen = 0;
          for (auto b : sequence) seen = (seen << 8) | b;
          heard_ = std::max(heard_.value_or(0), seen);
        }
        gnutls_packet_deinit(packet);
      }
      if (n > 0) continue;
      if (n == 0) {
        state_ = State::kClosed;
        failure_ = Failure{Recovery::kRetry, alert::kCloseNotify, std::nullopt,
                           "the peer closed the session"};
        return;
      }
      if (n == GNUTLS_E_AGAIN && starved_) return;
      if (gnutls_error_is_fatal(static_cast<int>(n)) != 0) {
        failed(static_cast<int>(n));
        return;
      }
    }
  }

  void established() {
    state_ = State::kEstablished;
    identity_ = PeerIdentity{};
    identity_.resumed = gnutls_session_is_resumed(session_) != 0;
    if (const char* suite = gnutls_ciphersuite_get(session_)) identity_.cipher_suite = suite;
    const auto kx = gnutls_kx_get(session_);
    if (kx == GNUTLS_KX_PSK || kx == GNUTLS_KX_ECDHE_PSK || kx == GNUTLS_KX_DHE_PSK) {
      identity_.kind = PeerIdentity::Kind::kPsk;
      if (role_ == Role::kServer) {
        gnutls_datum_t name{};
        if (gnutls_psk_server_get_username2(session_, &name) >= 0) {
          identity_.psk_identity.assign(reinterpret_cast<const char*>(name.data), name.size);
        }
      } else {
        identity_.psk_identity = to_string(client_.psk_identity);
      }
      return;
    }
    unsigned n = 0;
    const gnutls_datum_t* peers = gnutls_certificate_get_peers(session_, &n);
    if (peers == nullptr || n == 0) return;
    if (gnutls_certificate_type_get2(session_, GNUTLS_CTYPE_PEERS) == GNUTLS_CRT_RAWPK) {
      identity_.kind = PeerIdentity::Kind::kRawPublicKey;
      identity_.public_key.assign(peers[0].data, peers[0].data + peers[0].size);
      return;
    }
    identity_.kind = PeerIdentity::Kind::kCertificate;
    Crt c;
    if (gnutls_x509_crt_import(c.handle, &peers[0], GNUTLS_X509_FMT_DER) >= 0) {
      identity_.common_name = common_name(c.handle);
      if (auto spki = spki_of_certificate(c.handle)) identity_.public_key = *spki;
    }
  }

  void failed(int rc) {
    state_ = State::kFailed;
    failure_ = Failure{};
    failure_.reason = gnutls_strerror(rc);
    if (rc == GNUTLS_E_FATAL_ALERT_RECEIVED) {
      const auto a = static_cast<std::uint8_t>(gnutls_alert_get(session_));
      failure_.alert_received = a;
      failure_.recovery = recovery_for_alert(a);
      failure_.reason = std::string("the peer sent alert ") +
                        gnutls_alert_get_name(static_cast<gnutls_alert_description_t>(a));
      return;
    }
    if (rc == GNUTLS_E_TIMEDOUT) {
      failure_.reason = "the handshake timed out (peer unreachable, or a wrong key)";
      return;  // Retry, and nothing to tell a peer that does not answer
    }
    std::optional<std::uint8_t> to_send;
    if (verify_alert_) {
      to_send = verify_alert_;
      failure_.reason = verify_reason_;
    } else if (rc == GNUTLS_E_SRP_PWD_ERROR) {
      to_send = alert::kUnknownPskIdentity;  // GnuTLS would say internal_error
      failure_.reason = "unknown PSK identity";
    } else if (rc == GNUTLS_E_NO_CERTIFICATE_FOUND || rc == GNUTLS_E_CERTIFICATE_REQUIRED) {
      // A client whose certificate no trusted CA issued sends none (GnuTLS: decode_error).
      to_send = alert::kBadCertificate;
      failure_.reason = "the client sent no certificate that a trusted CA issued";
    } else {
      int level = 0;
      const int a = gnutls_error_to_alert(rc, &level);
      if (a >= 0) to_send = static_cast<std::uint8_t>(a);
    }
    if (to_send) {
      (void)gnutls_alert_send(session_, GNUTLS_AL_FATAL,
                              static_cast<gnutls_alert_description_t>(*to_send));
      failure_.alert_sent = to_send;
      failure_.recovery = recovery_for_alert(*to_send);
    }
  }

  // --- peer verification (called by GnuTLS during the handshake) ---------------

  static int verify_callback(gnutls_session_t s) {
    auto* self = static_cast<GnutlsSession*>(gnutls_session_get_ptr(s));
    const Verdict v = self->role_ == Role::kClient ? self->verify_server() : self->verify_client();
    if (v.ok) return 0;
    self->set_verify_alert(v.alert, v.reason);
    return -1;
  }

  std::vector<Bytes> peer_chain(bool& raw) const {
    unsigned n = 0;
    const gnutls_datum_t* peers = gnutls_certificate_get_peers(session_, &n);
    raw = gnutls_certificate_type_get2(session_, GNUTLS_CTYPE_PEERS) == GNUTLS_CRT_RAWPK;
    std::vector<Bytes> chain;
    for (unsigned i = 0; peers != nullptr && i < n; ++i) {
      chain.emplace_back(peers[i].data, peers[i].data + peers[i].size);
    }
    return chain;
  }

  static Verdict check_strength(ByteView spki) {
    PubKey pk;
    auto d = datum(spki);
    if (gnutls_pubkey_import(pk.handle, &d, GNUTLS_X509_FMT_DER) < 0) {
      return refuse(alert::kBadCertificate, "the peer's public key does not parse");
    }
    unsigned bits = 0;
    const int algorithm = gnutls_pubkey_get_pk_algorithm(pk.handle, &bits);
    return check_key_strength(algorithm, bits);
  }

  // Transport TS 5.2.9.2 (RPK: exact match) and 5.2.9.7 (certificate usages).
  Verdict verify_server() const {
    bool raw = false;
    auto chain = peer_chain(raw);
    if (chain.empty()) return refuse(alert::kBadCertificate, "the server sent no key");
    if (client_.mode == Mode::kRawPublicKey) {
      if (!raw) return refuse(alert::kBadCertificate, "the server sent a certificate, not a key");
      auto expected = public_key_of(client_.server_public_key);
      if (!expected || *expected != chain[0]) {
        return refuse(alert::kBadCertificate, "the server's public key is not the one expected");
      }
      return check_strength(chain[0]);
    }
    Crt ee;
    auto d = datum(chain[0]);
    if (raw || gnutls_x509_crt_import(ee.handle, &d, GNUTLS_X509_FMT_DER) < 0) {
      return refuse(alert::kBadCertificate, "the server's certificate does not parse");
    }
    unsigned bits = 0;
    const int algorithm = gnutls_x509_crt_get_pk_algorithm(ee.handle, &bits);
    if (auto v = check_key_strength(algorithm, bits); !v.ok) return v;
    const ByteView spk = client_.server_public_key;
    const bool matches = !spk.empty() && designates(spk, chain[0], ee.handle);
    std::vector<ByteView> anchors(client_.trust_anchors.begin(), client_.trust_anchors.end());
    if (client_.pkix) return validate_path(chain, anchors, client_.server_name, anchors.empty());
    switch (client_.certificate_usage) {
      case 3: {
        // Domain-issued: the certificate itself is the trust anchor (validity still checked).
        if (!matches) return refuse(alert::kBadCertificate, "not the server certificate expected");
        return validate_path({chain[0]}, {ByteView(chain[0])}, "");
      }
      case 1: {
        // Service certificate constraint: the match, and a valid path; the name check is
        // skipped because the certificate itself was named (5.2.9.3).
        if (!matches) return refuse(alert::kBadCertificate, "not the server certificate expected");
        return validate_path(chain, anchors, "", anchors.empty());
      }
      case 2: {
        // Trust anchor assertion: the Server Public Key resource is the anchor.
        if (spk.empty()) return refuse(alert::kUnknownCa, "no trust anchor provisioned");
        return validate_path(chain, {spk}, client_.server_name);
      }
      case 0: {
        // CA constraint: a valid path that goes through this CA.
        if (spk.empty()) return refuse(alert::kUnknownCa, "no CA provisioned");
        auto through = validate_path(chain, {spk}, client_.server_name);
        if (!through.ok) return through;
        return validate_path(chain, anchors, client_.server_name, anchors.empty());
      }
      default:
        return refuse(alert::kBadCertificate,
                      "unknown certificate usage " + std::to_string(client_.certificate_usage));
    }
  }

  // The server's side: a raw key must belong to a known endpoint; a certificate must chain
  // to a client trust anchor. Which endpoint it is, is checked at Register (5.2.6).
  Verdict verify_client() const {
    bool raw = false;
    auto chain = peer_chain(raw);
    const auto& sc = *impl_.options.server;
    if (chain.empty() && !sc.require_client_authentication) return {};
    if (chain.empty()) return refuse(alert::kBadCertificate, "the client sent no key");
    if (raw) {
      if (auto v = check_strength(chain[0]); !v.ok) return v;
      if (!sc.knows_public_key || !sc.knows_public_key(chain[0])) {
        return refuse(alert::kAccessDenied, "unknown client public key");
      }
      return {};
    }
    if (sc.client_trust_anchors.empty()) {
      return refuse(alert::kUnknownCa, "no trust anchors for client certificates");
    }
    std::vector<ByteView> anchors(sc.client_trust_anchors.begin(), sc.client_trust_anchors.end());
    return validate_path(chain, anchors, "");
  }

  static std::optional<Bytes> pop(std::deque<Bytes>& q) {
    if (q.empty()) return std::nullopt;
    Bytes b = std::move(q.front());
    q.pop_front();
    return b;
  }

  static ssize_t pull_callback(gnutls_transport_ptr_t p, void* buf, size_t size) {
    return static_cast<GnutlsSession*>(p)->pull(buf, size);
  }
  // Nothing to read is starving too: GnuTLS then answers E_AGAIN without calling pull, and
  // calling it again at once would only repeat the same wait (and its clock reads).
  static int pull_timeout_callback(gnutls_transport_ptr_t p, unsigned) {
    auto* s = static_cast<GnutlsSession*>(p);
    if (s->has_input()) return 1;
    s->starved_ = true;
    return 0;
  }
  static ssize_t push_callback(gnutls_transport_ptr_t p, const void* data, size_t size) {
    const auto* b = static_cast<const std::uint8_t*>(data);
    static_cast<GnutlsSession*>(p)->push(Bytes(b, b + size));
    return static_cast<ssize_t>(size);
  }
  // One call is one datagram holding several records (a whole flight when it fits).
  static ssize_t vec_push_callback(gnutls_transport_ptr_t p, const giovec_t* iov, int count) {
    Bytes d;
    for (int i = 0; i < count; ++i) {
      const auto* b = static_cast<const std::uint8_t*>(iov[i].iov_base);
      d.insert(d.end(), b, b + iov[i].iov_len);
    }
    const auto n = static_cast<ssize_t>(d.size());
    static_cast<GnutlsSession*>(p)->push(std::move(d));
    return n;
  }

  GnutlsBackend::Impl& impl_;
  Role role_;
  Carriage carriage_;
  gnutls_session_t session_ = nullptr;
  gnutls_psk_client_credentials_t psk_ = nullptr;
  gnutls_certificate_credentials_t certs_ = nullptr;
  ClientCredentials client_;
  std::deque<Bytes> in_datagrams_;
  Bytes in_stream_;
  std::size_t in_offset_ = 0;
  std::deque<Bytes> out_;
  std::deque<Bytes> plaintext_;
  bool starved_ = false;
  // Epoch and sequence number (RFC 6347 4.1.2.1) of the highest record sent, and of the
  // highest application data received, as one 64-bit value each.
  std::uint64_t sent_highest_ = 0;
  std::optional<std::uint64_t> heard_;
  bool compactable_ = true;
  State state_ = State::kHandshaking;
  Failure failure_;
  PeerIdentity identity_;
  Instant now_{};
  std::optional<std::uint8_t> verify_alert_;
  std::string verify_reason_;
};

int GnutlsBackend::Impl::psk_key_callback(gnutls_session_t s, const gnutls_datum_t* identity,
                                          gnutls_datum_t* key) {
  auto* session = static_cast<GnutlsSession*>(gnutls_session_get_ptr(s));
  const auto& lookup = session->impl().options.server->psk_key_for;
  if (!lookup) return -1;
  auto found = lookup(ByteView(identity->data, identity->size));
  if (!found) return -1;
  key->data = static_cast<unsigned char*>(gnutls_malloc(found->size()));
  if (key->data == nullptr) return -1;
  std::memcpy(key->data, found->data(), found->size());
  key->size = static_cast<unsigned>(found->size());
  return 0;
}

// --- the backend ---------------------------------------------------------------

namespace {
// Checked before GnuTLS allocates anything, so a refusal leaves nothing behind.
GnutlsOptions checked(GnutlsOptions options) {
  if (!options.ticket_key.empty() && options.ticket_key.size() != kTicketKeySize) {
    throw std::runtime_error("a session-ticket key has " + std::to_string(kTicketKeySize) +
                             " bytes");
  }
  return options;
}
}  // namespace

GnutlsBackend::GnutlsBackend(GnutlsOptions options)
    : impl_(std::make_unique<Impl>(checked(std::move(options)))) {}

GnutlsBackend::~GnutlsBackend() = default;

Result<std::unique_ptr<Session>> GnutlsBackend::client_session(Carriage carriage,
                                                               const ClientCredentials& c,
                                                               ByteView resume) {
  auto s = std::make_unique<GnutlsSession>(*impl_, Role::kClient, carriage);
  if (auto ok = s->init_client(c, resume); !ok) return ok.error();
  return std::unique_ptr<Session>(std::move(s));
}

Result<std::unique_ptr<Session>> GnutlsBackend::server_stream_session() {
  if (!impl_->options.server) return fail("no server credentials");
  auto s = std::make_unique<GnutlsSession>(*impl_, Role::kServer, Carriage::kStream);
  if (auto ok = s->init_server(); !ok) return ok.error();
  return std::unique_ptr<Session>(std::move(s));
}

namespace {
ssize_t append_reply(gnutls_transport_ptr_t p, const void* data, size_t size) {
  const auto* b = static_cast<const std::uint8_t*>(data);
  static_cast<Bytes*>(p)->insert(static_cast<Bytes*>(p)->end(), b, b + size);
  return static_cast<ssize_t>(size);
}
}  // namespace

Backend::Admission GnutlsBackend::admit_datagram(ByteView hello, ByteView address, Instant now) {
  Admission out;
  if (!impl_->options.server) return out;
  impl_->rotate_cookie_key_if_due(now);
  gnutls_dtls_prestate_st prestate{};
  auto* addr = const_cast<std::uint8_t*>(address.data());
  auto* data = const_cast<std::uint8_t*>(hello.data());
  int rc = gnutls_dtls_cookie_verify(&impl_->cookie_key, addr, address.size(), data, hello.size(),
                                     &prestate);
  if (rc < 0 && impl_->previous_cookie_key.data != nullptr) {
    rc = gnutls_dtls_cookie_verify(&impl_->previous_cookie_key, addr, address.size(), data,
                                   hello.size(), &prestate);
  }
  if (rc < 0) {
    // RFC 6347 4.2.1: prove the address first; nothing is allocated for it yet.
    (void)gnutls_dtls_cookie_send(&impl_->cookie_key, addr, address.size(), &prestate, &out.reply,
                                  append_reply);
    return out;
  }
  auto s = std::make_unique<GnutlsSession>(*impl_, Role::kServer, Carriage::kDatagram);
  if (!s->init_server()) return out;
  gnutls_dtls_prestate_set(s->handle(), &prestate);
  s->feed(hello, now);
  out.session = std::move(s);
  return out;
}

}  // namespace tether::tls
