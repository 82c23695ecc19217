#include "client/objects/connectivity_object.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <string>
#include <vector>

namespace tether::client {

namespace {
using lwm2m::Path;
using lwm2m::Value;
constexpr std::int64_t kEthernet = 41;

// Addresses of the interfaces that are up, loopback last (a host may have nothing else).
std::vector<std::string> host_addresses() {
  std::vector<std::string> out;
  std::vector<std::string> loopback;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || (i->ifa_flags & IFF_UP) == 0) continue;
    char text[INET6_ADDRSTRLEN] = {};
    const int family = i->ifa_addr->sa_family;
    const void* raw = nullptr;
    if (family == AF_INET) {
      raw = &reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr;
    } else if (family == AF_INET6) {
      raw = &reinterpret_cast<const sockaddr_in6*>(i->ifa_addr)->sin6_addr;
    } else {
      continue;
    }
    if (inet_ntop(family, raw, text, sizeof text) == nullptr) continue;
    ((i->ifa_flags & IFF_LOOPBACK) != 0 ? loopback : out).emplace_back(text);
  }
  freeifaddrs(list);
  out.insert(out.end(), loopback.begin(), loopback.end());
  return out;
}
}  // namespace

ConnectivityObject::ConnectivityObject() : DataObject(4, false) {
  set(Path{4, 0, 0}, Value(kEthernet));
  set(Path{4, 0, 1, 0}, Value(kEthernet));
  set(Path{4, 0, 2}, Value(std::int64_t{0}));
}

Result<lwm2m::InstanceNode> ConnectivityObject::read(std::uint16_t instance) const {
  auto node = DataObject::read(instance);
  if (!node) return node;
  auto& addresses = node->resources[4];
  addresses.multiple = true;
  addresses.instances.clear();
  const auto found = host_addresses();
  for (std::size_t i = 0; i < found.size() && i < 16; ++i) {
    addresses.instances[static_cast<std::uint16_t>(i)] = Value(found[i]);
  }
  return node;
}

}  // namespace tether::client
