#include "client/access_control.hpp"

#include "lwm2m/path.hpp"

namespace tether::client::access {

namespace {
std::optional<std::int64_t> integer(const lwm2m::InstanceNode& node, std::uint16_t rid) {
  const auto* r = node.resources.find(rid);
  if (r == nullptr || r->multiple) return std::nullopt;
  auto n = r->value.as_number();
  if (!n) return std::nullopt;
  return static_cast<std::int64_t>(*n);
}
}  // namespace

std::optional<std::uint16_t> find_acl(const lwm2m::ObjectNode& acl, std::uint16_t oid,
                                      std::uint16_t iid) {
  for (const auto& [id, node] : acl.instances) {
    if (integer(node, kObjectId) == oid && integer(node, kInstanceId) == iid) return id;
  }
  return std::nullopt;
}

std::uint8_t rights(const lwm2m::ObjectNode& acl, std::uint16_t ssid, std::uint16_t oid,
                    std::uint16_t iid, std::size_t server_count) {
  const auto id = find_acl(acl, oid, iid);
  if (!id) {
    if (server_count > 1) return 0;
    return iid == lwm2m::Path::kUnassigned ? std::uint8_t{kCreate} : kAll;
  }
  const auto* node = acl.instances.find(*id);
  if (node == nullptr) return 0;
  if (const auto* entries = node->resources.find(kAcl)) {
    for (std::uint16_t key : {ssid, std::uint16_t{0}}) {
      if (const auto* v = entries->instances.find(key)) {
        auto n = v->as_number();
        return n ? static_cast<std::uint8_t>(static_cast<std::int64_t>(*n) & 0x1f) : 0;
      }
    }
  }
  if (iid != lwm2m::Path::kUnassigned && integer(*node, kOwner) == ssid) return kAll;
  return 0;
}

}  // namespace tether::client::access
