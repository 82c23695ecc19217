#include "transport/socket_address.hpp"

#include <arpa/inet.h>
#include <netdb.h>

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tether::transport {

SocketAddress::SocketAddress(const sockaddr* sa, socklen_t len) {
  // Another family (or a truncated address) is kept as an empty one: family() says 0.
  if (len < sizeof(sa_family_t)) return;
  if ((sa->sa_family == AF_INET && len >= sizeof(sockaddr_in)) ||
      (sa->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6))) {
    len_ = sa->sa_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    std::memcpy(&storage_, sa, len_);
  }
}

Result<SocketAddress> SocketAddress::resolve(const std::string& host, std::uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_flags = AI_ADDRCONFIG;
  addrinfo* res = nullptr;
  const std::string service = std::to_string(port);
  int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  if (rc != 0 || res == nullptr) {
    hints.ai_flags = 0;  // loopback-only hosts have no "configured" address family
    rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  }
  if (rc != 0 || res == nullptr) return fail("cannot resolve " + host + ": " + gai_strerror(rc));
  SocketAddress a(res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  return a;
}

Result<SocketAddress> SocketAddress::any(int family, std::uint16_t port) {
  if (family == AF_INET) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    sin.sin_addr.s_addr = htonl(INADDR_ANY);
    return SocketAddress(reinterpret_cast<const sockaddr*>(&sin), sizeof(sin));
  }
  if (family == AF_INET6) {
    sockaddr_in6 sin6{};
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(port);
    sin6.sin6_addr = in6addr_any;
    return SocketAddress(reinterpret_cast<const sockaddr*>(&sin6), sizeof(sin6));
  }
  return fail("unsupported address family");
}

std::uint16_t SocketAddress::port() const {
  if (family() == AF_INET) return ntohs(storage_.v4.sin_port);
  if (family() == AF_INET6) return ntohs(storage_.v6.sin6_port);
  return 0;
}

std::string SocketAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  std::string out;
  // Built by append: GCC 12 at -O3 warns falsely (-Wrestrict) on chained operator+.
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &storage_.v4.sin_addr, buf, sizeof(buf));
    out.append(buf);
  } else if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &storage_.v6.sin6_addr, buf, sizeof(buf));
    out.append("[").append(buf).append("]");
  } else {
    return "?";
  }
  out.append(":").append(std::to_string(port()));
  return out;
}

AddressKey SocketAddress::key() const {
  AddressKey k;
  k.family = static_cast<std::uint16_t>(family());
  if (family() == AF_INET) {
    std::memcpy(k.address.data(), &storage_.v4.sin_addr, sizeof(storage_.v4.sin_addr));
    k.port = storage_.v4.sin_port;
  } else if (family() == AF_INET6) {
    std::memcpy(k.address.data(), &storage_.v6.sin6_addr, sizeof(storage_.v6.sin6_addr));
    k.port = storage_.v6.sin6_port;
  }
  return k;
}

std::size_t AddressKeyHash::operator()(const AddressKey& k) const noexcept {
  // FNV-1a over the 20 bytes, then a multiply that spreads ports that differ in one bit.
  std::uint64_t h = 1469598103934665603ULL;
  for (std::uint8_t b : k.address) h = (h ^ b) * 1099511628211ULL;
  h = (h ^ k.port) * 1099511628211ULL;
  h = (h ^ k.family) * 1099511628211ULL;
  return static_cast<std::size_t>(h ^ (h >> 29));
}

std::optional<std::pair<std::string, std::uint16_t>> split_host_port(const std::string& a) {
  const auto colon = a.rfind(':');
  if (colon == std::string::npos || colon + 1 == a.size()) return std::nullopt;
  std::string host = a.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned long port = 0;
  try {
    port = std::stoul(a.substr(colon + 1));
  } catch (...) {
    return std::nullopt;
  }
  if (port == 0 || port > 65535) return std::nullopt;
  return std::make_pair(host, static_cast<std::uint16_t>(port));
}

Result<Ok> check_port_free(const SocketAddress& address, int type) {
  const int fd = ::socket(address.family(), type | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(std::string("socket: ") + std::strerror(errno));
  if (address.family() == AF_INET6) {
    int off = 0;
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
  }
  if (type == SOCK_STREAM) {
    int one = 1;  // as the listener itself: a port in TIME_WAIT is free
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  }
  const bool bound = ::bind(fd, address.get(), address.size()) == 0;
  const int err = errno;
  ::close(fd);
  if (!bound) {
    return fail(address.to_string() + " is taken (" + std::strerror(err) +
                "): another server listens there");
  }
  return Ok{};
}

}  // namespace tether::transport
