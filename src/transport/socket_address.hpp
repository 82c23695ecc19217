#pragma once
// An IPv4 or IPv6 socket address, hashable so transports can map it to a PeerId.
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "common/result.hpp"

namespace tether::transport {

class SocketAddress {
 public:
  SocketAddress() = default;
  SocketAddress(const sockaddr* sa, socklen_t len);

  // Numeric or DNS host; the first address getaddrinfo gives.
  static Result<SocketAddress> resolve(const std::string& host, std::uint16_t port);
  static Result<SocketAddress> any(int family, std::uint16_t port);

  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t size() const { return len_; }
  int family() const { return storage_.ss_family; }
  std::uint16_t port() const;
  std::string to_string() const;  // "127.0.0.1:5683", "[::1]:5683"
  // The raw address bytes + port, for hashing and equality.
  std::string key() const;
  bool operator==(const SocketAddress& o) const { return key() == o.key(); }

 private:
  sockaddr_storage storage_{};
  socklen_t len_ = 0;
};

// "[::1]:5683" / "127.0.0.1:5683" -> host and port (the form to_string() gives).
std::optional<std::pair<std::string, std::uint16_t>> split_host_port(const std::string& address);

}  // namespace tether::transport
