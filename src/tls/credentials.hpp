#pragma once
// What each side of a (D)TLS session presents and what it accepts from the other
// (Transport TS 5.2.9). Plain values: the LwM2M client fills them from a Security object
// instance, the servers from their configuration and per-endpoint store.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.hpp"

namespace tether::tls {

// Security Mode values 0-2 of the Security object (3 is NoSec: no session at all).
enum class Mode : std::uint8_t { kPsk = 0, kRawPublicKey = 1, kCertificate = 2 };

// The TLS client's side (always the LwM2M client, Transport TS 5.2.7).
struct ClientCredentials {
  Mode mode = Mode::kPsk;
  // PSK (5.2.9.1): identity up to 128 bytes, key up to 64 bytes.
  Bytes psk_identity;
  Bytes psk_key;
  // RPK: our SubjectPublicKeyInfo; certificate mode: our certificate (or chain). DER or PEM.
  Bytes own_public_key;
  // RPK and certificate mode: our private key (PKCS#8 or SEC1, DER or PEM). Certificate mode
  // without a certificate and key: we show none (an HTTPS client authenticating in HTTP).
  Bytes private_key;
  // RPK: the server's SubjectPublicKeyInfo, matched exactly. Certificate mode: the
  // certificate or key the Certificate Usage below applies to.
  Bytes server_public_key;
  // 5.2.9.7: 0 CA constraint, 1 service certificate constraint, 2 trust anchor assertion,
  // 3 domain-issued certificate (the Security object's default).
  std::uint8_t certificate_usage = 3;
  // Trust anchors for the PKIX path validation of certificate usages 0 and 1 (PEM bundles or
  // DER certificates). Empty: the system's trust store (Debian's ca-certificates).
  std::vector<Bytes> trust_anchors;
  // The reference identifier (RFC 6125): the SNI resource, else the URI's host. Sent as SNI
  // when it is a DNS name (5.2.9.3).
  std::string server_name;
  // HTTPS (seed 004: server authentication by certificate): instead of a certificate usage,
  // any certificate that chains to `trust_anchors` (the system's when empty) and names
  // `server_name`.
  bool pkix = false;
  friend bool operator==(const ClientCredentials&, const ClientCredentials&) = default;
};

// The TLS server's side: its own key, and how it recognises clients.
struct ServerCredentials {
  // Our private key; its public half is our raw public key (RFC 7250).
  Bytes private_key;
  // Our certificate chain for certificate-mode clients (PEM or DER). Empty: none offered.
  Bytes certificate_chain;
  // Trust anchors for client certificates. Empty: certificate-mode clients are refused.
  std::vector<Bytes> client_trust_anchors;
  // The key for a PSK identity, or nothing for an unknown identity (alert 115).
  std::function<std::optional<Bytes>(ByteView identity)> psk_key_for;
  // Whether a client's raw public key (SPKI, DER) belongs to a known endpoint.
  std::function<bool(ByteView spki)> knows_public_key;
  // CoAP over (D)TLS: a client always proves itself in the handshake. HTTPS (seed 004) may
  // leave it to HTTP (Digest, a proxy's header): then a client that shows no certificate is
  // let in unidentified; one that shows a certificate must still chain to an anchor.
  bool require_client_authentication = true;
};

// Who the peer proved to be: reaches the LwM2M layer with every message of the session.
struct PeerIdentity {
  enum class Kind : std::uint8_t { kNone, kPsk, kRawPublicKey, kCertificate };
  Kind kind = Kind::kNone;
  std::string psk_identity;  // PSK (the identity's bytes)
  Bytes public_key;          // RPK, and the certificate's SubjectPublicKeyInfo; DER
  std::string common_name;   // certificate: the subject CN
  std::string cipher_suite;  // for logs: "PSK-AES-128-CCM-8"
  bool resumed = false;
  friend bool operator==(const PeerIdentity&, const PeerIdentity&) = default;
};

}  // namespace tether::tls
