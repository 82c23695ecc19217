#include "transport/socket_address.hpp"

#include <arpa/inet.h>
#include <netdb.h>

#include <cstring>

namespace tether::transport {

SocketAddress::SocketAddress(const sockaddr* sa, socklen_t len) {
  len_ = std::min<socklen_t>(len, sizeof(storage_));
  std::memcpy(&storage_, sa, len_);
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
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  if (family() == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  return 0;
}

std::string SocketAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  std::string out;
  // Built by append: GCC 12 at -O3 warns falsely (-Wrestrict) on chained operator+.
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf,
              sizeof(buf));
    out.append(buf);
  } else if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, buf,
              sizeof(buf));
    out.append("[").append(buf).append("]");
  } else {
    return "?";
  }
  out.append(":").append(std::to_string(port()));
  return out;
}

std::string SocketAddress::key() const {
  std::string k;
  if (family() == AF_INET) {
    const auto* s = reinterpret_cast<const sockaddr_in*>(&storage_);
    k.assign(reinterpret_cast<const char*>(&s->sin_addr), sizeof(s->sin_addr));
    k.append(reinterpret_cast<const char*>(&s->sin_port), sizeof(s->sin_port));
  } else if (family() == AF_INET6) {
    const auto* s = reinterpret_cast<const sockaddr_in6*>(&storage_);
    k.assign(reinterpret_cast<const char*>(&s->sin6_addr), sizeof(s->sin6_addr));
    k.append(reinterpret_cast<const char*>(&s->sin6_port), sizeof(s->sin6_port));
  }
  return k;
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

}  // namespace tether::transport
