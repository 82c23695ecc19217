#pragma once
// The (D)TLS backend on GnuTLS (Debian's 3.7.9): DTLS 1.2 and TLS 1.2 with PSK, raw public
// keys (RFC 7250) and X.509, the four ciphersuites of Transport TS 5.2.9 on secp256r1,
// stateless cookies and session tickets. Sessions run over memory: GnuTLS never sees a
// socket.
#include <chrono>
#include <memory>
#include <optional>

#include "tls/session.hpp"

namespace tether::tls {

struct GnutlsOptions {
  // UDP payload bytes a datagram may carry: the IPv6 minimum MTU less the IP/UDP headers,
  // which leaves room for a 1152-byte CoAP message under the CBC suites' overhead.
  unsigned mtu = 1232;
  // DTLS handshake retransmission: first timeout, and when the handshake is given up.
  Duration retransmit{1000};
  Duration handshake_timeout{60'000};
  // Servers: what they present and how they recognise clients.
  std::optional<ServerCredentials> server;
  // Servers for HTTPS (seed 004): the usual TLS 1.2 suites of web clients instead of the
  // Transport TS 5.2.9 ones.
  bool web = false;
  // Servers: the cookie key is replaced this often (the previous one still verifies).
  Duration cookie_key_lifetime{3'600'000};
  // Servers: issue session tickets (RFC 5077) so clients resume without a full handshake.
  // Over SMS a ticket costs more SMS than the full handshake it saves.
  bool session_tickets = true;
  // Servers: the tickets' master key (kTicketKeySize bytes); empty: a random one. Server
  // nodes that share it resume each other's sessions, so a device the load balancer moves
  // resumes without a full handshake (docs/redis.md). GnuTLS derives the keys it uses
  // from it by time, so they rotate alike on every node.
  Bytes ticket_key;
};

// The size of a session-ticket master key (GnuTLS's).
inline constexpr std::size_t kTicketKeySize = 64;

class GnutlsBackend final : public Backend {
 public:
  // Throws std::runtime_error on bad server keys or certificates (start-up configuration).
  explicit GnutlsBackend(GnutlsOptions options = {});
  ~GnutlsBackend() override;
  GnutlsBackend(const GnutlsBackend&) = delete;
  GnutlsBackend& operator=(const GnutlsBackend&) = delete;

  Result<std::unique_ptr<Session>> client_session(Carriage carriage,
                                                  const ClientCredentials& credentials,
                                                  ByteView resume) override;
  Result<std::unique_ptr<Session>> server_stream_session() override;
  Admission admit_datagram(ByteView client_hello, ByteView address, Instant now) override;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// The SubjectPublicKeyInfo (DER) of a private key, certificate or public key given as DER or
// PEM: what RPK mode compares.
Result<Bytes> public_key_of(ByteView key_or_certificate);

}  // namespace tether::tls
