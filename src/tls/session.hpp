#pragma once
// One (D)TLS session, sans-I/O: records in, records out, plaintext both ways, and a
// handshake retransmission deadline. A Backend (GnuTLS, or the null backend of the tests)
// makes them; the SecureLayer owns one per peer.
#include <array>
#include <cstddef>
#include <memory>
#include <optional>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "common/time.hpp"
#include "tls/credentials.hpp"
#include "tls/failure.hpp"

namespace tether::tls {

enum class Role : std::uint8_t { kClient, kServer };
// DTLS over datagrams (one record layer datagram per feed) or TLS over a byte stream.
enum class Carriage : std::uint8_t { kDatagram, kStream };

class Session {
 public:
  enum class State : std::uint8_t { kHandshaking, kEstablished, kClosed, kFailed };
  virtual ~Session() = default;

  // Client role: sends the first flight.
  virtual void start(Instant now) = 0;
  // One datagram, or the next chunk of the stream, from the peer.
  virtual void feed(ByteView bytes, Instant now) = 0;
  // At deadline(): retransmits the handshake flight, or gives up.
  virtual void on_timer(Instant now) = 0;
  // Established only; one call is one record (one datagram over DTLS).
  virtual Result<Ok> write(ByteView plaintext) = 0;
  // Sends close_notify; the session is then closed.
  virtual void close() = 0;

  virtual std::optional<Bytes> poll_output() = 0;     // records for the peer
  virtual std::optional<Bytes> poll_plaintext() = 0;  // application data from the peer
  virtual std::optional<Instant> deadline() const = 0;
  virtual State state() const = 0;
  virtual const Failure& failure() const = 0;             // kFailed, and kClosed by the peer
  virtual const PeerIdentity& peer_identity() const = 0;  // kEstablished
  // Client role, once established: what resumes this session next time (may be empty).
  virtual Bytes resumption_data() const = 0;
  // Once both sides are past the handshake (the peer sent data under the new keys), a
  // leaner session that carries on from here, to replace this one; nullptr while there is
  // none (a handshake's last flight may still need repeating, or the suite is not one the
  // lean session knows).
  virtual std::unique_ptr<Session> compact() { return nullptr; }
};

class Backend {
 public:
  virtual ~Backend() = default;
  // A client session towards a server; `resume` is an earlier session's resumption_data().
  virtual Result<std::unique_ptr<Session>> client_session(Carriage carriage,
                                                          const ClientCredentials& credentials,
                                                          ByteView resume) = 0;
  // A server session for a new TLS connection.
  virtual Result<std::unique_ptr<Session>> server_stream_session() = 0;

  // DTLS servers (RFC 6347 4.2.1): a ClientHello from an unknown address is answered
  // statelessly with a HelloVerifyRequest (`reply`) until it carries a valid cookie for that
  // address; only then is a session allocated (and the ClientHello already fed to it).
  struct Admission {
    std::unique_ptr<Session> session;
    Bytes reply;
  };
  virtual Admission admit_datagram(ByteView client_hello, ByteView address, Instant now) = 0;
};

// A datagram that opens a DTLS handshake: a handshake record of epoch 0 holding a
// ClientHello (RFC 6347 4.1, 4.2.2). Anything else from an unknown peer is dropped.
bool is_client_hello(ByteView datagram);
// The 32-byte client random of a ClientHello (RFC 6347 4.2.1), or nothing when the datagram
// is too short to hold one: it tells a new handshake from a repeated hello.
std::optional<std::array<std::uint8_t, 32>> client_hello_random(ByteView datagram);

}  // namespace tether::tls
