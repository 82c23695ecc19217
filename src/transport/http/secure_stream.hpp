#pragma once
// The bytes of one TCP connection, plain or through a TLS session (stream carriage): what
// the socket read goes in and plaintext comes out; plaintext goes in and what the socket
// must write comes out. Sans-I/O like the session itself; the HTTP server and client edges
// put one between a socket and their http/ connection (HTTPS, seed 004).
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/time.hpp"
#include "tls/session.hpp"

namespace tether::transport {

class SecureStream {
 public:
  SecureStream() = default;  // plain TCP
  explicit SecureStream(std::unique_ptr<tls::Session> session);

  bool secure() const { return session_ != nullptr; }
  // The client's first flight.
  void start(Instant now);
  // Bytes the socket read; the plaintext they carried is appended to `plaintext`.
  void from_socket(std::string_view bytes, Instant now, std::string& plaintext);
  // Takes plaintext to send (as much as the session takes now); returns how much.
  std::size_t to_socket(std::string_view plaintext);
  // What the socket should write, and how much of it it wrote.
  std::string_view wire() const { return std::string_view(wire_).substr(wire_sent_); }
  void wrote(std::size_t n);

  // Plain, or the handshake is done: plaintext flows.
  bool ready() const;
  // The handshake failed or the peer ended the session.
  bool failed() const;
  std::string failure() const;
  std::optional<Instant> deadline() const;
  void on_timer(Instant now);
  // Who the peer proved to be (TLS, established); none on plain TCP.
  const tls::PeerIdentity* identity() const;

 private:
  void collect();

  std::unique_ptr<tls::Session> session_;
  std::string wire_;
  std::size_t wire_sent_ = 0;
};

}  // namespace tether::transport
