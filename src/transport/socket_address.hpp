#pragma once
// An IPv4 or IPv6 socket address, hashable so transports can map it to a PeerId.
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "common/result.hpp"

namespace tether::transport {

// The raw address bytes, port and family: a fixed-size key, so a lookup per datagram hashes
// 20 bytes and allocates nothing (IPv4 fills the first 4 address bytes).
struct AddressKey {
  std::array<std::uint8_t, 16> address{};
  std::uint16_t port = 0;  // network order
  std::uint16_t family = 0;
  friend bool operator==(const AddressKey&, const AddressKey&) = default;
};

struct AddressKeyHash {
  std::size_t operator()(const AddressKey& k) const noexcept;
};

// IPv4 or IPv6 only: kept at sockaddr_in6's size (28 bytes) rather than sockaddr_storage's
// 128, since a server holds one per peer.
class SocketAddress {
 public:
  SocketAddress() = default;
  SocketAddress(const sockaddr* sa, socklen_t len);

  // Numeric or DNS host; the first address getaddrinfo gives.
  static Result<SocketAddress> resolve(const std::string& host, std::uint16_t port);
  static Result<SocketAddress> any(int family, std::uint16_t port);

  const sockaddr* get() const { return &storage_.any; }
  socklen_t size() const { return len_; }
  int family() const { return storage_.any.sa_family; }
  std::uint16_t port() const;
  std::string to_string() const;  // "127.0.0.1:5683", "[::1]:5683"
  // The raw address bytes + port, for hashing and equality.
  AddressKey key() const;
  bool operator==(const SocketAddress& o) const { return key() == o.key(); }

 private:
  union Storage {
    sockaddr any;
    sockaddr_in v4;
    sockaddr_in6 v6;
  };
  Storage storage_{};
  socklen_t len_ = 0;
};

// SO_REUSEPORT lets every socket of the same user join a port's group, including another
// process's, which would then take a share of the traffic. The first worker to bind a
// shared port checks first that nobody holds it: a bind without the option (closed again)
// fails when the port is taken. `type`: SOCK_DGRAM or SOCK_STREAM.
Result<Ok> check_port_free(const SocketAddress& address, int type);

// "[::1]:5683" / "127.0.0.1:5683" -> host and port (the form to_string() gives).
std::optional<std::pair<std::string, std::uint16_t>> split_host_port(const std::string& address);

}  // namespace tether::transport
