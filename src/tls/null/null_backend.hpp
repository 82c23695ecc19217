#pragma once
// A backend without cryptography, for tests of what sits around (D)TLS: the SecureLayer's
// bookkeeping and the LwM2M layer's use of peer identities. Its "handshake" is one hello
// carrying the client's PSK identity and one answer; records carry plaintext. Framed like
// DTLS records so the layer's ClientHello detection applies. Never for production.
#include "tls/session.hpp"

namespace tether::tls {

class NullBackend final : public Backend {
 public:
  // Server role: `server.psk_key_for` decides which identities are accepted.
  explicit NullBackend(std::optional<ServerCredentials> server = std::nullopt)
      : server_(std::move(server)) {}

  Result<std::unique_ptr<Session>> client_session(Carriage carriage,
                                                  const ClientCredentials& credentials,
                                                  ByteView resume) override;
  Result<std::unique_ptr<Session>> server_stream_session() override;
  Admission admit_datagram(ByteView client_hello, ByteView address, Instant now) override;

 private:
  std::optional<ServerCredentials> server_;
};

}  // namespace tether::tls
